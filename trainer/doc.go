// Package trainer trains the networks relutune compares: multilayer
// perceptrons and a small convolutional network, with every activation,
// initialiser and optimizer a study can choose, on MNIST, IDX, CSV or
// generated data sets.
//
// Train runs one configuration to completion, calling a report hook after
// each epoch with the losses, accuracy, throughput and per-layer diagnostics
// (dead units, saturation, activation moments, gradient norms, PReLU slopes)
// that explain why one activation beat another. It is deterministic from the
// configuration's seed, checks its context between batches, reports a NaN or
// infinite loss as a *DivergedError, and writes and resumes checkpoints that
// reproduce the uninterrupted run bit for bit.
//
// The numeric work is done by package kernels; a training step allocates
// nothing. The package knows nothing of the services around it: it takes a
// context and callbacks.
package trainer
