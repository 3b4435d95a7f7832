// Package search holds the typed search space of a study and the samplers that
// suggest configurations from it.
//
// Samplers are ask/tell and stateless: given the space, the trial history and a
// seed they return the next configurations, so the same inputs give the same
// suggestions on any machine and after any restart.
package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Value is one parameter value: a number or a string. Categorical parameters
// may mix both (for example batch sizes are numbers, activations strings).
type Value struct {
	str   string
	num   float64
	isStr bool
}

// Num returns a numeric value.
func Num(f float64) Value { return Value{num: f} }

// Str returns a string value.
func Str(s string) Value { return Value{str: s, isStr: true} }

// IsString reports whether v holds a string.
func (v Value) IsString() bool { return v.isStr }

// Float returns the numeric value (0 for strings).
func (v Value) Float() float64 { return v.num }

// Int returns the numeric value rounded to the nearest integer.
func (v Value) Int() int { return int(math.Round(v.num)) }

// String returns the value as text: the string itself, or the number in its
// shortest exact decimal form.
func (v Value) String() string {
	if v.isStr {
		return v.str
	}
	return strconv.FormatFloat(v.num, 'g', -1, 64)
}

// Equal reports whether two values are the same string or the same number.
func (v Value) Equal(o Value) bool {
	if v.isStr != o.isStr {
		return false
	}
	if v.isStr {
		return v.str == o.str
	}
	return v.num == o.num
}

// MarshalJSON encodes v as a JSON string or number.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.isStr {
		return json.Marshal(v.str)
	}
	if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
		return nil, fmt.Errorf("search: value %v is not a finite number", v.num)
	}
	return []byte(strconv.FormatFloat(v.num, 'g', -1, 64)), nil
}

// UnmarshalJSON decodes a JSON string or number.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Str(s)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("search: a parameter value must be a number or a string")
	}
	*v = Num(f)
	return nil
}

// ValueOf converts a decoded scalar (string, bool-free number types) to a
// Value. It is used by spec decoding.
func ValueOf(x any) (Value, error) {
	switch t := x.(type) {
	case string:
		return Str(t), nil
	case int:
		return Num(float64(t)), nil
	case int64:
		return Num(float64(t)), nil
	case uint64:
		return Num(float64(t)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return Value{}, fmt.Errorf("%v is not a finite number", t)
		}
		return Num(t), nil
	case Value:
		return t, nil
	}
	return Value{}, fmt.Errorf("%v (%T) is not a number or a string", x, x)
}
