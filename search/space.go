package search

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of a parameter's domain.
type Kind uint8

// Parameter kinds.
const (
	Float       Kind = iota + 1 // uniform over [Low, High]
	LogFloat                    // log-uniform over [Low, High], Low > 0
	Int                         // uniform over the integers in [Low, High]
	Categorical                 // one of Choices
)

func (k Kind) String() string {
	switch k {
	case Float:
		return "uniform"
	case LogFloat:
		return "log_uniform"
	case Int:
		return "int_uniform"
	case Categorical:
		return "choice"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// maxExactInt is the largest integer bound: every integer up to 2^53 is
// exactly a float64.
const maxExactInt = 1 << 53

// ErrInvalidSpace is wrapped by every space validation error.
var ErrInvalidSpace = errors.New("search: invalid space")

// Condition makes a parameter active only when another parameter takes one
// of the listed values.
type Condition struct {
	Param string
	In    []Value
}

// Param is one dimension of the search space.
type Param struct {
	Name    string
	Kind    Kind
	Low     float64 // Float, LogFloat, Int: inclusive lower bound
	High    float64 // Float, LogFloat, Int: inclusive upper bound
	Choices []Value // Categorical
	When    *Condition
}

// Space is a validated, ordered set of parameters: every parameter comes
// after the parameter its condition refers to, otherwise by name.
type Space struct {
	params []Param
	index  map[string]int
}

// NewSpace validates params and orders them.
func NewSpace(params []Param) (*Space, error) {
	byName := make(map[string]Param, len(params))
	for _, p := range params {
		if p.Name == "" {
			return nil, fmt.Errorf("%w: a parameter has no name", ErrInvalidSpace)
		}
		if _, dup := byName[p.Name]; dup {
			return nil, fmt.Errorf("%w: %s: defined twice", ErrInvalidSpace, p.Name)
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		byName[p.Name] = p
	}
	for _, p := range params {
		if p.When == nil {
			continue
		}
		parent, ok := byName[p.When.Param]
		if !ok {
			return nil, fmt.Errorf("%w: %s.when: parameter %q is not in the space", ErrInvalidSpace, p.Name, p.When.Param)
		}
		if parent.Kind != Categorical {
			return nil, fmt.Errorf("%w: %s.when: parameter %q must be a choice to be used in a condition", ErrInvalidSpace, p.Name, p.When.Param)
		}
		choices := make(map[Value]struct{}, len(parent.Choices))
		for _, c := range parent.Choices {
			choices[c] = struct{}{}
		}
		for _, v := range p.When.In {
			if _, ok := choices[v]; !ok {
				return nil, fmt.Errorf("%w: %s.when.%s: %s is not one of its choices %s", ErrInvalidSpace, p.Name, parent.Name, v, formatValues(parent.Choices))
			}
		}
	}
	// Order: depth in the condition chain first, then name. Cycles are
	// impossible to order and rejected.
	depth := make(map[string]int, len(params))
	var depthOf func(name string, seen map[string]bool) (int, error)
	depthOf = func(name string, seen map[string]bool) (int, error) {
		if d, ok := depth[name]; ok {
			return d, nil
		}
		if seen[name] {
			return 0, fmt.Errorf("%w: %s.when: conditions form a cycle", ErrInvalidSpace, name)
		}
		seen[name] = true
		p := byName[name]
		d := 0
		if p.When != nil {
			pd, err := depthOf(p.When.Param, seen)
			if err != nil {
				return 0, err
			}
			d = pd + 1
		}
		depth[name] = d
		return d, nil
	}
	out := make([]Param, 0, len(params))
	for _, p := range params {
		if _, err := depthOf(p.Name, map[string]bool{}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if depth[out[i].Name] != depth[out[j].Name] {
			return depth[out[i].Name] < depth[out[j].Name]
		}
		return out[i].Name < out[j].Name
	})
	s := &Space{params: out, index: make(map[string]int, len(out))}
	for i, p := range out {
		s.index[p.Name] = i
	}
	return s, nil
}

func (p Param) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s.%s: %s", ErrInvalidSpace, p.Name, p.Kind, fmt.Sprintf(format, args...))
	}
	switch p.Kind {
	case Float, LogFloat, Int:
		if math.IsNaN(p.Low) || math.IsNaN(p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0) {
			return bad("bounds [%v, %v] must be finite", p.Low, p.High)
		}
		if p.Low > p.High {
			return bad("low %v must be <= high %v", p.Low, p.High)
		}
		if p.Kind == LogFloat && p.Low <= 0 {
			return bad("low %v must be > 0", p.Low)
		}
		if p.Kind == Int && (p.Low != math.Trunc(p.Low) || p.High != math.Trunc(p.High)) {
			return bad("bounds [%v, %v] must be integers", p.Low, p.High)
		}
		if p.Kind == Int && (math.Abs(p.Low) > maxExactInt || math.Abs(p.High) > maxExactInt) {
			return bad("bounds [%v, %v] must be within ±%v", p.Low, p.High, float64(maxExactInt))
		}
		if math.IsInf(p.High-p.Low, 0) {
			return bad("width of [%v, %v] overflows a float64", p.Low, p.High)
		}
	case Categorical:
		if len(p.Choices) == 0 {
			return bad("needs at least one choice")
		}
		// Value's == is Equal (a NaN, which no space holds, equals nothing).
		seen := make(map[Value]struct{}, len(p.Choices))
		for _, c := range p.Choices {
			if _, dup := seen[c]; dup {
				return bad("choice %s is listed twice", c)
			}
			seen[c] = struct{}{}
		}
	default:
		return fmt.Errorf("%w: %s: unknown kind %d", ErrInvalidSpace, p.Name, p.Kind)
	}
	return nil
}

// Params returns the parameters in sampling order. The slice must not be modified.
func (s *Space) Params() []Param { return s.params }

// Param returns the named parameter.
func (s *Space) Param(name string) (Param, bool) {
	i, ok := s.index[name]
	if !ok {
		return Param{}, false
	}
	return s.params[i], true
}

// Active reports whether p takes part in configuration c, whose parents have
// already been assigned.
func (s *Space) Active(p Param, c Config) bool {
	if p.When == nil {
		return true
	}
	v, ok := c[p.When.Param]
	return ok && containsValue(p.When.In, v)
}

// Contains checks that c assigns exactly the active parameters, each within
// its domain.
func (s *Space) Contains(c Config) error {
	for _, p := range s.params {
		v, ok := c[p.Name]
		active := s.Active(p, c)
		switch {
		case active && !ok:
			return fmt.Errorf("search: %s: missing", p.Name)
		case !active && ok:
			return fmt.Errorf("search: %s: set although its condition does not hold", p.Name)
		case !active:
			continue
		}
		if err := p.Check(v); err != nil {
			return err
		}
	}
	for name := range c {
		if _, ok := s.index[name]; !ok {
			return fmt.Errorf("search: %s: not a parameter of the space", name)
		}
	}
	return nil
}

// Check reports whether v lies in p's domain.
func (p Param) Check(v Value) error {
	switch p.Kind {
	case Categorical:
		if !containsValue(p.Choices, v) {
			return fmt.Errorf("search: %s: %s is not one of %s", p.Name, v, formatValues(p.Choices))
		}
	default:
		if v.IsString() || math.IsNaN(v.Float()) || v.Float() < p.Low || v.Float() > p.High {
			return fmt.Errorf("search: %s: %s is outside [%v, %v]", p.Name, v, p.Low, p.High)
		}
		if p.Kind == Int && v.Float() != math.Trunc(v.Float()) {
			return fmt.Errorf("search: %s: %s is not an integer", p.Name, v)
		}
	}
	return nil
}

func containsValue(vs []Value, v Value) bool {
	for _, c := range vs {
		if c.Equal(v) {
			return true
		}
	}
	return false
}

func formatValues(vs []Value) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Config is one point of the space: a value for every active parameter.
type Config map[string]Value

// Hash identifies a configuration: the hex SHA-256 (first 16 bytes) of its
// canonical JSON form (keys sorted, numbers in shortest form), which is
// exactly what encoding/json writes for c. It panics on a non-finite number,
// which no space contains.
func (c Config) Hash() string {
	var buf [256]byte
	sum := sha256.Sum256(c.appendCanonical(buf[:0]))
	return hex.EncodeToString(sum[:16])
}

// appendCanonical appends c's canonical JSON form. Samplers hash the whole
// history on every suggestion, so this avoids encoding/json's reflection;
// TestConfigHashMatchesJSON holds it to json.Marshal's bytes.
func (c Config) appendCanonical(b []byte) []byte {
	var arr [16]string
	keys := arr[:0]
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys) // encoding/json's order: byte-wise
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		v := c[k]
		switch {
		case v.isStr:
			b = appendJSONString(b, v.str)
		case math.IsNaN(v.num) || math.IsInf(v.num, 0):
			panic(fmt.Sprintf("search: hashing config: %s: value %v is not a finite number", k, v.num))
		default:
			b = strconv.AppendFloat(b, v.num, 'g', -1, 64) // as Value.MarshalJSON
		}
	}
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json quotes it: plain ASCII
// directly, anything it would escape through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				panic(fmt.Sprintf("search: hashing config: %v", err))
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// String renders c as "k=v k=v" in key order.
func (c Config) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(c[k].String())
	}
	return b.String()
}
