package controller

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/relutune/relutune/internal/events"
)

// The fast decoder reads the common metrics message (plain ASCII strings,
// integers, numbers or null, a flat list of layers) in one pass without
// reflection, and writes the layers' JSON as json.Marshal would. It
// declines anything else (an escape in a string, an unknown or repeated
// key, a key in another case, a number out of range), and unmarshalMetrics
// decodes that message as before: the fast path never decides a message
// differently, it only decides the common one sooner (FuzzDecodeFast).

// fastKey is what the fast decoder does with a top-level key.
type fastKey struct {
	index int // bit in the decoder's seen set
	int   func(*metricFields) *int64
	str   func(*metricFields) *string
	value func(*metricFields) **float64 // nil for the keys below
	skip  bool                          // read but not decoded (max_epochs, time)
	layer bool                          // "layers"
}

// layerField is a field of events.LayerStats as json.Marshal writes it.
type layerField struct {
	name      string
	omitempty bool
}

var (
	fastKeys   map[string]fastKey
	layerNames []layerField
	// fastOK is false when metricFields or events.LayerStats hold a field
	// the fast decoder does not know; every message then takes the
	// generic path (TestDecodeFastCoversFields fails first).
	fastOK bool
	// numValueKeys is the number of top-level keys holding a float.
	numValueKeys = len(events.EpochColumns) + 1
)

func init() { fastKeys, layerNames, fastOK = fastSchema() }

// fastSchema derives the keys the fast decoder reads from metricFields
// and events.LayerStats, and whether it covers every field.
func fastSchema() (map[string]fastKey, []layerField, bool) {
	keys := map[string]fastKey{}
	add := func(name string, k fastKey) {
		k.index = len(keys)
		keys[name] = k
	}
	ints := map[string]func(*metricFields) *int64{
		"study_id": func(m *metricFields) *int64 { return &m.StudyID },
		"trial":    func(m *metricFields) *int64 { return &m.Trial },
		"trial_id": func(m *metricFields) *int64 { return &m.TrialID },
		"attempt":  func(m *metricFields) *int64 { return &m.Attempt },
		"epoch":    func(m *metricFields) *int64 { return &m.Epoch },
	}
	strs := map[string]func(*metricFields) *string{
		"study":      func(m *metricFields) *string { return &m.Study },
		"worker":     func(m *metricFields) *string { return &m.Worker },
		"activation": func(m *metricFields) *string { return &m.Activation },
	}
	for name, f := range ints {
		add(name, fastKey{int: f})
	}
	for name, f := range strs {
		add(name, fastKey{str: f})
	}
	for _, c := range events.EpochColumns {
		of := c.Of
		add(c.Name, fastKey{value: func(m *metricFields) **float64 { return of(&m.EpochValues) }})
	}
	add(events.LegacySamplesPerSecKey, fastKey{value: func(m *metricFields) **float64 { return &m.LegacySamplesPerSec }})
	add("layers", fastKey{layer: true})
	ok := len(keys) <= 64
	// Every key metricFields decodes must be one of these.
	for _, name := range jsonNames(reflect.TypeFor[metricFields]()) {
		if _, known := keys[name.name]; !known {
			ok = false
		}
	}
	// The keys of a message that metricFields ignores are read as plain
	// values; any other key declines.
	for _, name := range jsonNames(reflect.TypeFor[events.EpochMetrics]()) {
		if _, known := keys[name.name]; !known {
			add(name.name, fastKey{skip: true})
		}
	}
	// A layer's fields must all be *float64 values.
	lt := reflect.TypeFor[events.LayerStats]()
	for i := range lt.NumField() {
		if lt.Field(i).Type != reflect.TypeFor[*float64]() {
			ok = false
		}
	}
	layers := jsonNames(lt)
	return keys, layers, ok && len(layers) <= 64 && len(keys) <= 64
}

// jsonNames lists the JSON keys of struct t's fields, embedded structs'
// fields in place, in field order.
func jsonNames(t reflect.Type) []layerField {
	var names []layerField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, jsonNames(f.Type)...)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, layerField{name, strings.Contains(","+opts+",", ",omitempty,")})
	}
	return names
}

// fastDecoder is the state of one decode.
type fastDecoder struct {
	b []byte
	i int
}

// decodeFast decodes data as unmarshalMetrics would, returning the
// fields, the layers as json.Marshal writes them, and the number of
// layers; ok is false when it declines the message. The values point
// into one slice, one allocation for all of them.
func decodeFast(data []byte) (m metricFields, layersJSON []byte, nLayers int, ok bool) {
	if !fastOK {
		return m, nil, 0, false
	}
	d := fastDecoder{b: data}
	var vals []float64 // every value's storage, allocated at the first
	nvals := 0
	var seen uint64
	d.ws()
	if !d.eat('{') {
		return m, nil, 0, false
	}
	d.ws()
	if d.eat('}') {
		return d.finish(m, nil, 0)
	}
	for {
		d.ws()
		key, kok := d.str()
		if !kok {
			return m, nil, 0, false
		}
		k, known := fastKeys[string(key)] // no allocation: the map lookup converts in place
		if !known || seen&(1<<k.index) != 0 {
			return m, nil, 0, false
		}
		seen |= 1 << k.index
		d.ws()
		if !d.eat(':') {
			return m, nil, 0, false
		}
		d.ws()
		switch {
		case k.int != nil:
			n, nok := d.integer()
			if !nok {
				return m, nil, 0, false
			}
			*k.int(&m) = n
		case k.str != nil:
			s, sok := d.str()
			if !sok {
				return m, nil, 0, false
			}
			*k.str(&m) = string(s)
		case k.value != nil:
			x, isNull, vok := d.number()
			if !vok {
				return m, nil, 0, false
			}
			if !isNull {
				if vals == nil {
					vals = make([]float64, numValueKeys) // each key is seen once
				}
				vals[nvals] = x
				*k.value(&m) = &vals[nvals]
				nvals++
			}
		case k.skip:
			if !d.scalar() {
				return m, nil, 0, false
			}
		case k.layer:
			if layersJSON, nLayers, ok = d.layers(); !ok {
				return m, nil, 0, false
			}
		}
		d.ws()
		if d.eat('}') {
			break
		}
		if !d.eat(',') {
			return m, nil, 0, false
		}
	}
	return d.finish(m, layersJSON, nLayers)
}

// finish checks that nothing but whitespace follows the object and
// applies the legacy samples_per_sec key as unmarshalMetrics does.
func (d *fastDecoder) finish(m metricFields, lj []byte, n int) (metricFields, []byte, int, bool) {
	d.ws()
	if d.i != len(d.b) {
		return m, nil, 0, false
	}
	if m.SamplesPerSec == nil {
		m.SamplesPerSec = m.LegacySamplesPerSec
	}
	if lj == nil {
		lj = []byte("[]")
	}
	return m, lj, n, true
}

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *fastDecoder) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes, returning its
// bytes within the message.
func (d *fastDecoder) str() ([]byte, bool) {
	if !d.eat('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// integer reads an integer of at most 18 digits.
func (d *fastDecoder) integer() (int64, bool) {
	neg := d.eat('-')
	start := d.i
	var n int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false // json.Unmarshal refuses it for an integer: the generic path says so
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// numberToken reads a JSON number's bytes.
func (d *fastDecoder) numberToken() ([]byte, bool) {
	start := d.i
	d.eat('-')
	digits := func() int {
		s := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		return d.i - s
	}
	intStart := d.i
	n := digits()
	if n == 0 || (n > 1 && d.b[intStart] == '0') {
		return nil, false
	}
	if d.eat('.') && digits() == 0 {
		return nil, false
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return d.b[start:d.i], true
}

// number reads a number or null; a number beyond float64's range
// declines.
func (d *fastDecoder) number() (x float64, isNull, ok bool) {
	if d.lit("null") {
		return 0, true, true
	}
	tok, ok := d.numberToken()
	if !ok {
		return 0, false, false
	}
	x, err := strconv.ParseFloat(string(tok), 64) // no allocation: the conversion does not escape
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false, false
	}
	return x, false, true
}

// scalar reads a value that is not decoded: a string, number, true,
// false or null.
func (d *fastDecoder) scalar() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		_, ok := d.str()
		return ok
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	}
	_, ok := d.numberToken()
	return ok
}

// layers reads the layers array (or null), writing it as json.Marshal
// writes []events.LayerStats.
func (d *fastDecoder) layers() ([]byte, int, bool) {
	if d.lit("null") {
		return nil, 0, true
	}
	if !d.eat('[') {
		return nil, 0, false
	}
	out := make([]byte, 0, 256)
	out = append(out, '[')
	d.ws()
	n := 0
	if !d.eat(']') {
		for {
			d.ws()
			var ok bool
			if out, ok = d.layer(out, n > 0); !ok {
				return nil, 0, false
			}
			n++
			d.ws()
			if d.eat(']') {
				break
			}
			if !d.eat(',') || n >= events.MaxLayers {
				return nil, 0, false // past MaxLayers the generic path says how many
			}
		}
	}
	return append(out, ']'), n, true
}

// layer reads one layer object and appends its JSON to out.
func (d *fastDecoder) layer(out []byte, comma bool) ([]byte, bool) {
	if !d.eat('{') {
		return nil, false
	}
	var vals [64]float64
	var set, seen uint64
	d.ws()
	if !d.eat('}') {
		for {
			d.ws()
			key, ok := d.str()
			if !ok {
				return nil, false
			}
			f := -1
			for j, lf := range layerNames {
				if lf.name == string(key) {
					f = j
					break
				}
			}
			if f < 0 || seen&(1<<f) != 0 {
				return nil, false
			}
			seen |= 1 << f
			d.ws()
			if !d.eat(':') {
				return nil, false
			}
			d.ws()
			x, isNull, ok := d.number()
			if !ok {
				return nil, false
			}
			if !isNull {
				vals[f] = x
				set |= 1 << f
			}
			d.ws()
			if d.eat('}') {
				break
			}
			if !d.eat(',') {
				return nil, false
			}
		}
	}
	if comma {
		out = append(out, ',')
	}
	out = append(out, '{')
	first := true
	for j, lf := range layerNames {
		has := set&(1<<j) != 0
		if !has && lf.omitempty {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"')
		out = append(out, lf.name...)
		out = append(out, '"', ':')
		if has {
			out = appendJSONFloat(out, vals[j])
		} else {
			out = append(out, "null"...)
		}
	}
	return append(out, '}'), true
}

// appendJSONFloat writes a finite float64 as encoding/json does: the
// shortest form, in exponent form below 1e-6 or from 1e21, with a
// one-digit negative exponent written without its leading zero.
func appendJSONFloat(b []byte, x float64) []byte {
	format := byte('f')
	if abs := math.Abs(x); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, x, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
