package events

// EpochValues are the per-epoch values of one trial: the schema shared by
// the metrics message (EpochMetrics), the row the sink stores
// (store.MetricRow), the COPY into trial_metrics and every query that reads
// it back (store.MetricExport). The JSON names are the trial_metrics
// column names; EpochColumns lists them in table order. A new value is
// added here, to EpochColumns, and to trial_metrics by a migration, and
// nowhere else. Nil is null: a value that was not finite.
type EpochValues struct {
	TrainLoss     *float64 `json:"train_loss"`
	ValLoss       *float64 `json:"val_loss"`
	ValAccuracy   *float64 `json:"val_accuracy"`
	DeadFraction  *float64 `json:"dead_fraction"`
	Saturation    *float64 `json:"saturation"`
	GradNorm      *float64 `json:"grad_norm"`
	SamplesPerSec *float64 `json:"samples_per_sec"`
	LR            *float64 `json:"lr"`
}

// EpochColumn is one of EpochValues' values: its column and JSON name,
// where EpochValues holds it, and whether it makes a learning curve worth
// drawing per epoch (throughput and learning rate do not).
type EpochColumn struct {
	Name  string
	Of    func(*EpochValues) **float64
	Curve bool
}

// EpochColumns are EpochValues' values in trial_metrics' column order.
// Whatever walks the schema (the row check, the COPY, the merge, the
// export query, the curve query, the message decoder's fallback) walks this
// list.
var EpochColumns = []EpochColumn{
	{"train_loss", func(v *EpochValues) **float64 { return &v.TrainLoss }, true},
	{"val_loss", func(v *EpochValues) **float64 { return &v.ValLoss }, true},
	{"val_accuracy", func(v *EpochValues) **float64 { return &v.ValAccuracy }, true},
	{"dead_fraction", func(v *EpochValues) **float64 { return &v.DeadFraction }, true},
	{"saturation", func(v *EpochValues) **float64 { return &v.Saturation }, true},
	{"grad_norm", func(v *EpochValues) **float64 { return &v.GradNorm }, true},
	{"samples_per_sec", func(v *EpochValues) **float64 { return &v.SamplesPerSec }, false},
	{"lr", func(v *EpochValues) **float64 { return &v.LR }, false},
}

// LegacySamplesPerSecKey is the JSON name workers before the shared schema
// gave samples_per_sec in metrics messages. The sink still reads it, so
// messages published by an older worker during an upgrade keep their
// throughput.
const LegacySamplesPerSecKey = "train_samples_per_sec"
