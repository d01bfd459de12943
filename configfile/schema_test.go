package configfile

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// TestConfigSchemaDescribesConfig walks Config and the schema together:
// each struct's JSON fields are exactly its object's properties, and every
// object refuses other properties.
func TestConfigSchemaDescribesConfig(t *testing.T) {
	cs, err := configSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc := cs.doc.(map[string]any)
	if got := doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema is %v, want draft 2020-12", got)
	}
	resolve := func(s map[string]any) map[string]any {
		for s["$ref"] != nil {
			ref := strings.TrimPrefix(s["$ref"].(string), "#")
			s = lookup(doc, pointerTokens(ref)).(map[string]any)
		}
		return s
	}
	var walk func(typ reflect.Type, s map[string]any, at string)
	walk = func(typ reflect.Type, s map[string]any, at string) {
		s = resolve(s)
		switch {
		case typ == reflect.TypeFor[authpool.Credential]():
			if !reflect.DeepEqual(s, resolve(map[string]any{"$ref": "#/$defs/secret"})) {
				t.Errorf("%s: a credential is not a #/$defs/secret", at)
			}
			return
		case typ.Kind() == reflect.Pointer:
			walk(typ.Elem(), s, at)
			return
		case typ.Kind() == reflect.Slice:
			if s["type"] != "array" {
				t.Errorf("%s: type is %v, want array", at, s["type"])
				return
			}
			walk(typ.Elem(), s["items"].(map[string]any), at+"/0")
			return
		case typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Time]():
			return
		}
		if s["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties is not false", at)
		}
		props, _ := s["properties"].(map[string]any)
		var names []string
		for _, f := range reflect.VisibleFields(typ) { // an embedded struct's fields, as JSON sees them
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || f.Anonymous || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: the schema lacks %s (%s.%s)", at, name, typ.Name(), f.Name)
				continue
			}
			walk(f.Type, p, at+"/"+name)
		}
		for name := range props {
			if !slices.Contains(names, name) && !(at == "" && name == "$schema") {
				t.Errorf("%s: the schema has %s, which %s lacks", at, name, typ.Name())
			}
		}
	}
	walk(reflect.TypeFor[document](), doc, "")

	// Every object in the schema refuses unknown properties.
	var objects func(v any, at string)
	objects = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if _, isObject := v["properties"]; isObject && v["additionalProperties"] != false {
				t.Errorf("schema %s: additionalProperties is not false", at)
			}
			for k, x := range v {
				if k != "default" && k != "enum" {
					objects(x, at+"/"+k)
				}
			}
		case []any:
			for i, x := range v {
				objects(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	objects(doc, "#")
}

func TestNearestField(t *testing.T) {
	known := map[string]any{"maxClients": nil, "weeklyBudgetUSD": nil, "env": nil, "file": nil, "id": nil}
	for key, want := range map[string]string{
		"maxClient": "maxClients", "MaxClients": "maxClients", "maxclinets": "maxClients", "weeklyBudget": "",
		"evn": "env", "fiel": "file", "path": "", "ID": "id", "colour": "", "weeklyBudgetUsd": "weeklyBudgetUSD",
	} {
		if got := nearest(key, known); got != want {
			t.Errorf("nearest(%q) = %q, want %q", key, got, want)
		}
	}
}
