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
	key = clip(key)
	if path == "" {
		return key
	}
	return path + "." + key
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Limits on a spec document, checked before it is decoded.
const (
	// MaxFileSize is the largest spec, in bytes.
	MaxFileSize = 1 << 20
	// MaxNodes bounds the YAML nodes of a document with every alias
	// expanded: a few anchors can otherwise stand for billions of nodes.
	MaxNodes = 50000
	// MaxDepth bounds the nesting of a document (aliases expanded).
	MaxDepth = 32
	// MaxEntries bounds the values of one list and the keys of one mapping.
	MaxEntries = 1000
	// MaxScalar is the longest single value or key, in bytes.
	MaxScalar = 4096
)

// limiter walks a document as decoding will, aliases expanded, and stops
// at the first limit exceeded. Anchored nodes are measured once, so the
// walk is linear in the document's size however aliases nest.
type limiter struct {
	nodes  int
	size   map[*yaml.Node][2]int // expanded node count and height of nodes already measured
	active map[*yaml.Node]bool   // nodes on the current path (alias cycles)
}

func checkLimits(doc *yaml.Node) error {
	l := &limiter{size: map[*yaml.Node][2]int{}, active: map[*yaml.Node]bool{}}
	_, _, err := l.walk(doc, "", 0)
	return err
}

func (l *limiter) walk(n *yaml.Node, path string, depth int) (count, height int, err error) {
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return 0, 0, fmt.Errorf("spec: %s (line %d): alias to nothing", orRoot(path), n.Line)
		}
		if l.active[t] {
			return 0, 0, fmt.Errorf("spec: %s (line %d): alias *%s refers to a value that contains it", orRoot(path), n.Line, clip(n.Value))
		}
		if m, ok := l.size[t]; ok {
			if depth+m[1]-1 > MaxDepth {
				return 0, 0, fmt.Errorf("spec: %s (line %d): nested more than %d levels deep (aliases expanded)", orRoot(path), n.Line, MaxDepth)
			}
			l.nodes += m[0]
			if l.nodes > MaxNodes {
				return 0, 0, fmt.Errorf("spec: %s (line %d): alias *%s expands the document beyond %d YAML nodes (at most %d allowed)", orRoot(path), n.Line, clip(n.Value), MaxNodes, MaxNodes)
			}
			return m[0], m[1], nil
		}
		n = t
	}
	if depth > MaxDepth {
		return 0, 0, fmt.Errorf("spec: %s (line %d): nested more than %d levels deep", orRoot(path), n.Line, MaxDepth)
	}
	l.nodes++
	if l.nodes > MaxNodes {
		return 0, 0, fmt.Errorf("spec: %s (line %d): the document has more than %d YAML nodes, aliases expanded (at most %d allowed)", orRoot(path), n.Line, MaxNodes, MaxNodes)
	}
	count, height = 1, 1
	l.active[n] = true
	defer delete(l.active, n)
	add := func(c *yaml.Node, p string) error {
		k, h, err := l.walk(c, p, depth+1)
		count += k
		height = max(height, h+1)
		return err
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if len(n.Value) > MaxScalar {
			return 0, 0, fmt.Errorf("spec: %s (line %d): a value of %d bytes (at most %d allowed)", orRoot(path), n.Line, len(n.Value), MaxScalar)
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := add(c, path); err != nil {
				return 0, 0, err
			}
		}
	case yaml.SequenceNode:
		if len(n.Content) > MaxEntries {
			return 0, 0, fmt.Errorf("spec: %s (line %d): lists %d values (at most %d allowed)", orRoot(path), n.Line, len(n.Content), MaxEntries)
		}
		for i, c := range n.Content {
			if err := add(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return 0, 0, err
			}
		}
	case yaml.MappingNode:
		if len(n.Content)/2 > MaxEntries {
			return 0, 0, fmt.Errorf("spec: %s (line %d): has %d keys (at most %d allowed)", orRoot(path), n.Line, len(n.Content)/2, MaxEntries)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if err := add(key, path); err != nil {
				return 0, 0, err
			}
			if err := add(n.Content[i+1], join(path, key.Value)); err != nil {
				return 0, 0, err
			}
		}
	}
	if n.Anchor != "" {
		l.size[n] = [2]int{count, height}
	}
	return count, height, nil
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
