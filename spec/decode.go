package spec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes node into the value pointed to by out, rejecting
// fields that the target struct does not declare. Errors name the field's
// path ("model.hidden[1]") and the line.
func decodeStrict(node *yaml.Node, out any) error {
	return decodeValue(node, reflect.ValueOf(out).Elem(), "")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func decodeValue(node *yaml.Node, v reflect.Value, path string) error {
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return fmt.Errorf("spec: empty document")
		}
		return decodeValue(node.Content[0], v, path)
	}
	if node.Kind == yaml.AliasNode {
		return decodeValue(node.Alias, v, path)
	}
	// Types with their own decoding, and scalars, go to the YAML library.
	if v.CanAddr() {
		if _, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
			return wrapDecodeErr(node.Decode(v.Addr().Interface()), node, path)
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if node.Tag == "!!null" {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(node, v.Elem(), path)
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("spec: %s (line %d): must be a mapping", orRoot(path), node.Line)
		}
		fields := structFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i].Value, node.Content[i+1]
			idx, ok := fields[key]
			if !ok {
				return fmt.Errorf("spec: %s (line %d): unknown field (allowed: %s)", join(path, key), node.Content[i].Line, allowedKeys(fields))
			}
			if seen[key] {
				return fmt.Errorf("spec: %s (line %d): set twice", join(path, key), node.Content[i].Line)
			}
			seen[key] = true
			if err := decodeValue(val, v.Field(idx), join(path, key)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("spec: %s (line %d): must be a mapping", orRoot(path), node.Line)
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key := node.Content[i].Value
			kv := reflect.New(v.Type().Key()).Elem()
			if err := wrapDecodeErr(node.Content[i].Decode(kv.Addr().Interface()), node.Content[i], join(path, key)); err != nil {
				return err
			}
			if v.MapIndex(kv).IsValid() {
				return fmt.Errorf("spec: %s (line %d): set twice", join(path, key), node.Content[i].Line)
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(node.Content[i+1], ev, join(path, key)); err != nil {
				return err
			}
			v.SetMapIndex(kv, ev)
		}
		return nil
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			return fmt.Errorf("spec: %s (line %d): must be a list", orRoot(path), node.Line)
		}
		s := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
		for i, el := range node.Content {
			if err := decodeValue(el, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("spec: %s (line %d): must be a single value", orRoot(path), node.Line)
	}
	return wrapDecodeErr(node.Decode(v.Addr().Interface()), node, path)
}

func wrapDecodeErr(err error, node *yaml.Node, path string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
			msg = msg[i+2:]
		}
	}
	return fmt.Errorf("spec: %s (line %d): %s", orRoot(path), node.Line, msg)
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

func structFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	return m
}

func allowedKeys(fields map[string]int) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
