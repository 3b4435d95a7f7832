package trainer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
)

// ErrCheckpoint is wrapped by the errors of reading a checkpoint that is
// damaged or belongs to another configuration.
var ErrCheckpoint = errors.New("trainer: checkpoint")

// A checkpoint is: the 8-byte magic, a little-endian uint32 header length,
// the JSON header, the float32 vectors (parameters, then the optimizer's
// first and second moment buffers, as many as it has, then in version 2 the
// batch-normalisation running statistics) little-endian, and a CRC-32
// (IEEE) of everything before it. The last byte of the magic is the format
// version: a model without batch normalisation is written as version 1,
// which every earlier trainer reads; one with it as version 2. Both are read.
var checkpointMagic = [8]byte{'R', 'L', 'T', 'C', 'K', 'P', 'T', 1}

// checkpointVersion2 is the magic of the format with running statistics.
var checkpointVersion2 = [8]byte{'R', 'L', 'T', 'C', 'K', 'P', 'T', 2}

type checkpointHeader struct {
	Config        Config       `json:"config"`
	Epoch         int          `json:"epoch"`
	Step          int64        `json:"step"`
	RNG           []byte       `json:"rng"`
	BestLossBits  uint64       `json:"best_val_loss_bits"`
	BestAccuracy  float64      `json:"best_val_accuracy"`
	SinceBest     int          `json:"since_best"`
	Stopped       bool         `json:"stopped"`
	Last          EpochMetrics `json:"last"`
	Params        int          `json:"params"`
	MomentBuffers int          `json:"moment_buffers"`
	// Running is the length of the running-statistics vector (version 2).
	Running int `json:"running,omitempty"`
}

// write writes the training state to w.
func (st *state) write(w io.Writer) error {
	rng, err := st.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	vecs := st.vectors()
	hdr, err := json.Marshal(checkpointHeader{
		Config: st.cfg, Epoch: st.epoch, Step: st.opt.step, RNG: rng,
		BestLossBits: math.Float64bits(st.bestLoss), BestAccuracy: st.bestAcc,
		SinceBest: st.sinceBest, Stopped: st.stopped, Last: st.last,
		Params: len(st.net.params), MomentBuffers: len(vecs) - 1, Running: len(st.net.running),
	})
	if err != nil {
		return err
	}
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	magic := checkpointMagic
	if st.net.running != nil {
		magic = checkpointVersion2
		vecs = append(vecs, st.net.running)
	}
	bw.Write(magic[:])
	var b4 [4]byte
	binary.LittleEndian.PutUint32(b4[:], uint32(len(hdr)))
	bw.Write(b4[:])
	bw.Write(hdr)
	for _, v := range vecs {
		for _, f := range v {
			binary.LittleEndian.PutUint32(b4[:], math.Float32bits(f))
			bw.Write(b4[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b4[:], crc.Sum32())
	_, err = w.Write(b4[:])
	return err
}

// vectors returns the parameter vector and the optimizer's state vectors.
func (st *state) vectors() [][]float32 {
	v := [][]float32{st.net.params}
	if st.opt.m != nil {
		v = append(v, st.opt.m)
	}
	if st.opt.v != nil {
		v = append(v, st.opt.v)
	}
	return v
}

// restore loads a checkpoint written by write for the same configuration
// (Epochs, Patience and Threads may differ).
func (st *state) restore(r io.Reader) error {
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 1<<16)
	tr := io.TeeReader(br, crc)
	magic, h, err := readCheckpointHeader(tr)
	if err != nil {
		return err
	}
	if err := compatible(h.Config, st.cfg); err != nil {
		return err
	}
	vecs := st.vectors()
	if h.Params != len(st.net.params) || h.MomentBuffers != len(vecs)-1 {
		return fmt.Errorf("%w: holds %d parameters and %d optimizer buffers, the model has %d and %d", ErrCheckpoint, h.Params, h.MomentBuffers, len(st.net.params), len(vecs)-1)
	}
	if h.Running != len(st.net.running) || (magic == checkpointVersion2) != (h.Running > 0) {
		return fmt.Errorf("%w: holds %d running statistics (format version %d), the model has %d", ErrCheckpoint, h.Running, magic[7], len(st.net.running))
	}
	if st.net.running != nil {
		vecs = append(vecs, st.net.running)
	}
	buf := make([]byte, 1<<16)
	for _, v := range vecs {
		for lo := 0; lo < len(v); lo += len(buf) / 4 {
			k := min(len(buf)/4, len(v)-lo)
			if _, err := io.ReadFull(tr, buf[:4*k]); err != nil {
				return fmt.Errorf("%w: reading vectors: %w", ErrCheckpoint, err)
			}
			for i := range k {
				v[lo+i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
		}
	}
	sum := crc.Sum32()
	var b4 [4]byte
	if _, err := io.ReadFull(br, b4[:]); err != nil {
		return fmt.Errorf("%w: reading checksum: %w", ErrCheckpoint, err)
	}
	if binary.LittleEndian.Uint32(b4[:]) != sum {
		return fmt.Errorf("%w: checksum mismatch (damaged file)", ErrCheckpoint)
	}
	if err := st.pcg.UnmarshalBinary(h.RNG); err != nil {
		return fmt.Errorf("%w: rng state: %w", ErrCheckpoint, err)
	}
	st.opt.step = h.Step
	st.epoch = h.Epoch
	st.bestLoss = math.Float64frombits(h.BestLossBits)
	st.bestAcc = h.BestAccuracy
	st.sinceBest = h.SinceBest
	st.stopped = h.Stopped
	st.last = h.Last
	return nil
}

// compatible reports whether a checkpoint of config saved can continue as
// config cur: everything but Epochs, Patience and Threads must match.
func compatible(saved, cur Config) error {
	// WithDefaults gives the fields added since a checkpoint was written
	// their canonical form.
	a, b := saved.WithDefaults(), cur
	a.Epochs, b.Epochs = 0, 0
	a.Patience, b.Patience = 0, 0
	a.Threads, b.Threads = 0, 0
	// Defaults derived from Epochs.
	a.StepEpochs, b.StepEpochs = 0, 0
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !slices.Equal(ja, jb) || saved.StepEpochs != cur.StepEpochs && cur.LRSchedule == ScheduleStep {
		return fmt.Errorf("%w: written for config %s, cannot resume config %s", ErrCheckpoint, ja, jb)
	}
	return nil
}

// readCheckpointHeader reads a checkpoint's magic and JSON header from r,
// the start of the file, checking the magic (either format version) and the
// header's length; the vectors and the checksum follow in r.
func readCheckpointHeader(r io.Reader) ([8]byte, checkpointHeader, error) {
	var h checkpointHeader
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return [8]byte{}, h, fmt.Errorf("%w: reading header: %w", ErrCheckpoint, err)
	}
	magic := [8]byte(pre[:8])
	if magic != checkpointMagic && magic != checkpointVersion2 {
		return magic, h, fmt.Errorf("%w: not a relutune checkpoint (bad magic)", ErrCheckpoint)
	}
	n := binary.LittleEndian.Uint32(pre[8:])
	if n > 1<<24 {
		return magic, h, fmt.Errorf("%w: header length %d is too large", ErrCheckpoint, n)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return magic, h, fmt.Errorf("%w: reading header: %w", ErrCheckpoint, err)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return magic, h, fmt.Errorf("%w: header: %w", ErrCheckpoint, err)
	}
	return magic, h, nil
}
