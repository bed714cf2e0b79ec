package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The `hcl json` verb: an HCL file's syntax as plain JSON, for the
// TypeScript renderer of routines.hcl (cli/src/schema/routines.ts), which
// reads blocks that the Atlas library does not evaluate (function, trigger)
// with bare identifiers the library does not know (PLpgSQL, ROW).
//
// Nothing is evaluated: the file is parsed, not interpreted. The shape is the
// one of tmccombs/hcl2json (the former parser of routines.ts):
//   - a block is keyed by its type, then by each label, and holds an array of
//     bodies (several blocks may share a type and labels);
//   - an attribute is its literal value (string, number, bool, null), a
//     string for a quoted or heredoc template (indentation of <<- removed),
//     an array for [...], an object for {...};
//   - anything else (a reference such as schema.public, a bare identifier
//     such as PLpgSQL, a function call) is its source text inside "${...}",
//     and so is each interpolation inside a string; a literal "${" or "%{"
//     in a string stays escaped as "$${" and "%%{".

// hclFileJSON is one file's body as JSON.
type hclFileJSON struct {
	File string         `json:"file"`
	Body map[string]any `json:"body"`
}

type hclJSONResult struct {
	Files []hclFileJSON `json:"files"`
}

func (r *hclJSONResult) human() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b) + "\n"
}

// hclJSON converts each file ("-" is standard input); a syntax error is SchemaInvalid naming file and line.
func hclJSON(files []string, stdin io.Reader) (*hclJSONResult, error) {
	result := &hclJSONResult{Files: []hclFileJSON{}}
	for _, name := range files {
		src, err := readInput(name, stdin)
		if err != nil {
			return nil, err
		}
		file, diags := hclsyntax.ParseConfig(src, displayName(name), hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fail(reasonSchemaInvalid, "%s", hclMessage(diags, displayName(name)))
		}
		c := hclConverter{src: src, file: displayName(name)}
		body, err := c.body(file.Body.(*hclsyntax.Body))
		if err != nil {
			return nil, err
		}
		result.Files = append(result.Files, hclFileJSON{File: name, Body: body})
	}
	return result, nil
}

// hclConverter turns one file's syntax tree into JSON values; src is the
// file, for the source text of expressions.
type hclConverter struct {
	src  []byte
	file string
}

// invalid is a SchemaInvalid failure at a position of the file.
func (c hclConverter) invalid(at hcl.Range, format string, args ...any) error {
	return fail(reasonSchemaInvalid, "%s line %d: %s", c.file, at.Start.Line, fmt.Sprintf(format, args...))
}

func (c hclConverter) body(body *hclsyntax.Body) (map[string]any, error) {
	out := map[string]any{}
	for name, attr := range body.Attributes {
		value, err := c.expression(attr.Expr)
		if err != nil {
			return nil, err
		}
		out[name] = value
	}
	for _, block := range body.Blocks {
		if err := c.block(block, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// block adds a block under out[type][label]...: an array of bodies.
func (c hclConverter) block(block *hclsyntax.Block, out map[string]any) error {
	key := block.Type
	for _, label := range block.Labels {
		switch inner := out[key].(type) {
		case nil:
			next := map[string]any{}
			out[key] = next
			out = next
		case map[string]any:
			out = inner
		default:
			return c.invalid(block.DefRange(), "block %s %q clashes with another block or attribute of the same name", block.Type, strings.Join(block.Labels, " "))
		}
		key = label
	}
	body, err := c.body(block.Body)
	if err != nil {
		return err
	}
	switch bodies := out[key].(type) {
	case nil:
		out[key] = []any{body}
	case []any:
		out[key] = append(bodies, body)
	default:
		return c.invalid(block.DefRange(), "block %s clashes with another block or attribute of the same name", block.Type)
	}
	return nil
}

func (c hclConverter) expression(expr hclsyntax.Expression) (any, error) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return literal(e.Val)
	case *hclsyntax.UnaryOpExpr:
		// -1 and !true: a literal operand has a value without any context.
		if _, ok := e.Val.(*hclsyntax.LiteralValueExpr); ok {
			if v, diags := e.Value(nil); !diags.HasErrors() {
				return literal(v)
			}
		}
		return c.wrapped(expr), nil
	case *hclsyntax.TemplateExpr:
		return c.template(e)
	case *hclsyntax.TemplateWrapExpr:
		return c.expression(e.Wrapped)
	case *hclsyntax.TupleConsExpr:
		list := make([]any, 0, len(e.Exprs))
		for _, item := range e.Exprs {
			value, err := c.expression(item)
			if err != nil {
				return nil, err
			}
			list = append(list, value)
		}
		return list, nil
	case *hclsyntax.ObjectConsExpr:
		object := map[string]any{}
		for _, item := range e.Items {
			key, err := c.objectKey(item.KeyExpr)
			if err != nil {
				return nil, err
			}
			value, err := c.expression(item.ValueExpr)
			if err != nil {
				return nil, err
			}
			object[key] = value
		}
		return object, nil
	}
	return c.wrapped(expr), nil
}

// templateEscapes keeps a literal "${" or "%{" (written $${ and %%{ in HCL)
// escaped, so that it cannot be mistaken for an interpolation, as in HCL's
// own JSON syntax (and in hcl2json).
var templateEscapes = strings.NewReplacer("${", "$${", "%{", "%%{")

// template is a quoted or heredoc string: its literal parts as they are (with
// templateEscapes), each interpolation as "${source}". Template directives
// (%{ if }, %{ for }) have no such form, and are refused.
func (c hclConverter) template(t *hclsyntax.TemplateExpr) (string, error) {
	var s strings.Builder
	for _, part := range t.Parts {
		switch p := part.(type) {
		case *hclsyntax.LiteralValueExpr:
			if p.Val.Type() != cty.String {
				return "", c.invalid(p.Range(), "a string part that is not text")
			}
			s.WriteString(templateEscapes.Replace(p.Val.AsString()))
		case *hclsyntax.ConditionalExpr, *hclsyntax.TemplateJoinExpr:
			return "", c.invalid(p.Range(), "template directives (%%{ if } and %%{ for }) are not supported here")
		default:
			s.WriteString(c.wrapped(p))
		}
	}
	return s.String(), nil
}

// objectKey is a key of {...}: a bare name as itself, else a string.
func (c hclConverter) objectKey(expr hclsyntax.Expression) (string, error) {
	key, ok := expr.(*hclsyntax.ObjectConsKeyExpr)
	if ok && !key.ForceNonLiteral {
		if name := hcl.ExprAsKeyword(key.Wrapped); name != "" {
			return name, nil
		}
	}
	if ok {
		expr = key.Wrapped
	}
	value, err := c.expression(expr)
	if err != nil {
		return "", err
	}
	if s, isString := value.(string); isString {
		return s, nil
	}
	return string(c.source(expr)), nil
}

// wrapped is an expression the renderer reads as text: "${source}".
func (c hclConverter) wrapped(expr hclsyntax.Expression) string {
	return "${" + string(c.source(expr)) + "}"
}

func (c hclConverter) source(expr hclsyntax.Expression) []byte {
	return expr.Range().SliceBytes(c.src)
}

// literal is a literal value as JSON (a number keeps its exact digits).
func literal(v cty.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}
