package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hclBody runs `hcl json` on src (as standard input) and decodes the one body.
func hclBody(t *testing.T, src string) map[string]any {
	t.Helper()
	r := runEngine(t, t.TempDir(), nil, src, "hcl", "json", "-", "--format", "json")
	wantCode(t, r, 0)
	var res struct {
		Files []struct {
			File string         `json:"file"`
			Body map[string]any `json:"body"`
		} `json:"files"`
	}
	r.json(t, &res)
	if len(res.Files) != 1 || res.Files[0].File != "-" {
		t.Fatalf("one file expected: %s", r.stdout)
	}
	return res.Files[0].Body
}

// wantJSON compares got with the JSON document want.
func wantJSON(t *testing.T, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Fatalf("\n got %s\nwant %s", g, want)
	}
}

// Every construct routines.hcl and the tenant template's routines.hcl use,
// in the shape cli/src/schema/routines.ts reads.
func TestHCLJSONRoutineBlocks(t *testing.T) {
	t.Parallel()
	body := hclBody(t, `
function "touch" {
  schema     = schema.public
  lang       = PLpgSQL
  return     = trigger
  volatility = IMMUTABLE
  as         = <<-SQL
  BEGIN
    NEW.updated_at = now();
    RETURN NEW;
  END;
  SQL
}

trigger "touch_projects" {
  on = table.projects
  before {
    update = true
    delete = false
  }
  for = ROW
  execute {
    function = function.touch
  }
}

trigger "guard_truncate" {
  on = table.projects
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.touch
  }
}
`)
	wantJSON(t, body, `{
  "function": {"touch": [{
    "schema": "${schema.public}", "lang": "${PLpgSQL}", "return": "${trigger}", "volatility": "${IMMUTABLE}",
    "as": "BEGIN\n  NEW.updated_at = now();\n  RETURN NEW;\nEND;\n"
  }]},
  "trigger": {
    "touch_projects": [{
      "on": "${table.projects}", "before": [{"update": true, "delete": false}], "for": "${ROW}",
      "execute": [{"function": "${function.touch}"}]
    }],
    "guard_truncate": [{
      "on": "${table.projects}", "after": [{"truncate": true}], "for": "${STATEMENT}",
      "execute": [{"function": "${function.touch}"}]
    }]
  }
}`)
}

// What schema.hcl and atlas.hcl hold besides: nothing is evaluated, and
// nothing the renderer does not read is refused.
func TestHCLJSONOtherConstructs(t *testing.T) {
	t.Parallel()
	body := hclBody(t, `
variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}
table "t" {
  schema = schema.app
  column "id" {
    null    = false
    type    = varchar(255)
    default = sql("now()")
  }
  index "t_id" {
    columns = [column.id]
    unique  = true
  }
}
numbers = [1, -2, 1.5e3, 12345678901234567890]
nothing = null
negated = !true
object  = { k = 1, "quoted key" = [true, ref.x] }
text    = "a ${var.b} c $${literal} %%{literal}"
keep    = <<EOT
  indented ${x}
EOT
expr    = a ? b : c
plain { n = 1 }
plain { n = 2 }
blk "a" "b" { n = 1 }
blk "a" "c" { n = 2 }
blk "a" "b" { n = 3 }
`)
	wantJSON(t, body, `{
  "variable": {"url": [{"type": "${string}", "default": "${getenv(\"DATABASE_URL\")}"}]},
  "table": {"t": [{
    "schema": "${schema.app}",
    "column": {"id": [{"null": false, "type": "${varchar(255)}", "default": "${sql(\"now()\")}"}]},
    "index": {"t_id": [{"columns": ["${column.id}"], "unique": true}]}
  }]},
  "numbers": [1, -2, 1500, 12345678901234567890],
  "nothing": null,
  "negated": false,
  "object": {"k": 1, "quoted key": [true, "${ref.x}"]},
  "text": "a ${var.b} c $${literal} %%{literal}",
  "keep": "  indented ${x}\n",
  "expr": "${a ? b : c}",
  "plain": [{"n": 1}, {"n": 2}],
  "blk": {"a": {"b": [{"n": 1}, {"n": 3}], "c": [{"n": 2}]}}
}`)
}

// The project's own files convert, one call for several files, each named as given.
func TestHCLJSONProjectFiles(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	r := runEngine(t, root, nil, "", "hcl", "json", "routines.hcl", "schema.hcl", "--format", "json")
	wantCode(t, r, 0)
	var res struct {
		Files []struct {
			File string `json:"file"`
			Body struct {
				Function map[string][]map[string]any `json:"function"`
				Trigger  map[string][]map[string]any `json:"trigger"`
				Table    map[string][]map[string]any `json:"table"`
			} `json:"body"`
		} `json:"files"`
	}
	r.json(t, &res)
	if len(res.Files) != 2 || res.Files[0].File != "routines.hcl" || res.Files[1].File != "schema.hcl" {
		t.Fatalf("two files in the order given: %s", r.stdout[:min(len(r.stdout), 200)])
	}
	routines, schema := res.Files[0].Body, res.Files[1].Body
	if len(routines.Function) == 0 || len(routines.Trigger) == 0 || len(schema.Table) == 0 {
		t.Fatalf("functions, triggers and tables expected")
	}
	for name, fn := range routines.Function {
		body, _ := fn[0]["as"].(string)
		if len(fn) != 1 || fn[0]["schema"] != "${schema.control_plane}" || !strings.HasPrefix(body, "BEGIN") && !strings.HasPrefix(body, "DECLARE") && !strings.HasPrefix(body, "SELECT") {
			t.Fatalf("function %s: %v", name, fn)
		}
	}
	for name, trigger := range routines.Trigger {
		on, _ := trigger[0]["on"].(string)
		if !strings.HasPrefix(on, "${table.") || schema.Table[strings.TrimSuffix(strings.TrimPrefix(on, "${table."), "}")] == nil {
			t.Fatalf("trigger %s is on a table of schema.hcl: %v", name, trigger)
		}
	}
}

func TestHCLJSONRefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct{ name, src, message string }{
		{"syntax.hcl", "function \"f\" {\n  lang = PLpgSQL\n  return =\n}\n", "syntax.hcl line 3: "},
		{"directive.hcl", "a = 1\nb = \"%{ if x }y%{ endif }\"\n", "directive.hcl line 2: template directives"},
		{"clash.hcl", "x = 1\nx {\n}\n", "clash.hcl line 2: block x clashes"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runEngine(t, dir, nil, "", "hcl", "json", c.name, "--format", "json")
		wantCode(t, r, 1)
		failure := r.failure(t, "SchemaInvalid")
		if msg, _ := failure["message"].(string); !strings.HasPrefix(msg, c.message) {
			t.Fatalf("%s: want a message starting %q, got %q", c.name, c.message, msg)
		}
	}
	r := runEngine(t, dir, nil, "", "hcl", "json", "missing.hcl", "--format", "json")
	wantCode(t, r, 2)
	if msg, _ := r.failure(t, "Usage")["message"].(string); !strings.Contains(msg, "missing.hcl cannot be read") {
		t.Fatalf("an unreadable file is named: %s", r.stdout)
	}
	r = runEngine(t, dir, nil, "", "hcl", "json", "--format", "json")
	wantCode(t, r, 2)
	r.failure(t, "Usage")
}
