package redaction_test

import (
	"reflect"
	"strings"
	"testing"
)

// reachableText returns every string and byte sequence reachable from v,
// unexported fields included, one a line: what a dump of v's memory would
// show of its text. Pointers are followed once; channels and funcs are not.
func reachableText(v any) string {
	var out strings.Builder
	walk(reflect.ValueOf(v), map[uintptr]bool{}, &out)
	return out.String()
}

func walk(v reflect.Value, seen map[uintptr]bool, out *strings.Builder) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walk(v.Elem(), seen, out)
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), seen, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walk(v.Field(i), seen, out)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walk(it.Key(), seen, out)
			walk(it.Value(), seen, out)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			out.Write(b)
			out.WriteByte('\n')
			return
		}
		for i := range v.Len() {
			walk(v.Index(i), seen, out)
		}
	case reflect.String:
		out.WriteString(v.String())
		out.WriteByte('\n')
	}
}

// reachableText finds text behind pointers, maps, interfaces, unexported
// fields and byte arrays, and does not loop on cycles.
func TestReachableText(t *testing.T) {
	type node struct {
		name  string
		next  *node
		tags  map[string]any
		bytes [4]byte
	}
	a := &node{name: "first", tags: map[string]any{"k": []string{"deep"}}, bytes: [4]byte{'a', 'r', 'r', 'y'}}
	a.next = &node{name: "second", next: a}
	got := reachableText(a)
	for _, want := range []string{"first", "second", "k", "deep", "arry"} {
		if !strings.Contains(got, want) {
			t.Errorf("reachableText misses %q:\n%s", want, got)
		}
	}
}
