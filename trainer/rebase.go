package trainer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// RebaseCheckpoint copies a checkpoint from r to w with its configuration
// replaced by cfg, so that a trial of configuration cfg resumes from
// another trial's weights (population-based training's exploit step).
// Everything else is kept: the parameters, the optimizer's moment buffers
// and step count, the epoch, the random state (the data order goes on as
// the source's would have), and the early-stopping state. cfg may differ
// from the saved configuration only in the fields that do not change the
// network's shape or the optimizer's buffers: LearningRate, NegativeSlope,
// ELUAlpha, PReLUInit (a prelu's slopes are learned weights, so they come
// from the source), WeightDecay, Seed, Epochs, Patience and Threads. The
// source's checksum is verified.
func RebaseCheckpoint(r io.Reader, w io.Writer, cfg Config) error {
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 1<<16)
	tr := io.TeeReader(br, crc)
	magic, h, err := readCheckpointHeader(tr)
	if err != nil {
		return err
	}
	if err := sameShape(h.Config, cfg); err != nil {
		return err
	}
	h.Config = cfg.WithDefaults()
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	out := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, out), 1<<16)
	bw.Write(magic[:])
	var b4 [4]byte
	binary.LittleEndian.PutUint32(b4[:], uint32(len(hdr)))
	bw.Write(b4[:])
	bw.Write(hdr)
	// The vectors: everything up to the 4-byte checksum (in version 2 the
	// batch-normalisation running statistics follow the moments; they are
	// the source's, like its weights).
	if h.Params < 0 || h.MomentBuffers < 0 || h.MomentBuffers > 2 || h.Running < 0 || h.Running > 1<<28 ||
		(magic == checkpointVersion2) != (h.Running > 0) {
		return fmt.Errorf("%w: %d parameters, %d optimizer buffers and %d running statistics (format version %d)",
			ErrCheckpoint, h.Params, h.MomentBuffers, h.Running, magic[7])
	}
	want := 4*int64(h.Params)*int64(1+h.MomentBuffers) + 4*int64(h.Running)
	if got, err := io.CopyN(bw, tr, want); err != nil {
		return fmt.Errorf("%w: reading vectors (%d of %d bytes): %w", ErrCheckpoint, got, want, err)
	}
	sum := crc.Sum32()
	if _, err := io.ReadFull(br, b4[:]); err != nil {
		return fmt.Errorf("%w: reading checksum: %w", ErrCheckpoint, err)
	}
	if binary.LittleEndian.Uint32(b4[:]) != sum {
		return fmt.Errorf("%w: checksum mismatch (damaged file)", ErrCheckpoint)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b4[:], out.Sum32())
	_, err = w.Write(b4[:])
	return err
}

// sameShape reports whether a checkpoint of saved can be rebased to cur
// (see RebaseCheckpoint).
func sameShape(saved, cur Config) error {
	a, b := saved.WithDefaults(), cur.WithDefaults()
	for _, c := range []*Config{&a, &b} {
		c.LearningRate, c.NegativeSlope, c.ELUAlpha, c.PReLUInit, c.WeightDecay = 0, 0, 0, 0, 0
		c.Seed, c.Epochs, c.Patience, c.Threads, c.StepEpochs = 0, 0, 0, 0, 0
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !slices.Equal(ja, jb) {
		return fmt.Errorf("%w: written for config %s, cannot continue as config %s (only learning_rate, negative_slope, elu_alpha, prelu_init, weight_decay, seed, epochs, patience and threads may differ)", ErrCheckpoint, ja, jb)
	}
	return nil
}
