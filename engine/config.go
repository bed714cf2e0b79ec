package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/schema"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The blocks of atlas.hcl the engine reads, named as the official CLI names
// them. Every struct embeds DefaultExtension, so attributes and blocks the
// engine does not use (format, exclude, ...) are kept aside, not rejected,
// as Atlas does.
type (
	project struct {
		Envs []*envBlock `spec:"env"`
		Lint *lintBlock  `spec:"lint"`
		Diff *diffBlock  `spec:"diff"`
		schemahcl.DefaultExtension
	}

	envBlock struct {
		Name      string          `spec:"name,name"`
		URL       string          `spec:"url"`
		DevURL    string          `spec:"dev"`
		Migration *migrationBlock `spec:"migration"`
		Diff      *diffBlock      `spec:"diff"`
		Lint      *lintBlock      `spec:"lint"`
		// src lives in the extension: it is a string or a list of strings.
		schemahcl.DefaultExtension
	}

	migrationBlock struct {
		Dir         string `spec:"dir"`
		LockTimeout string `spec:"lock_timeout"`
		schemahcl.DefaultExtension
	}

	// diffBlock keeps concurrent_index in its extension: the postgres
	// driver reads it from there (postgres.DiffOptions).
	diffBlock struct {
		Skip *skipBlock `spec:"skip"`
		schemahcl.DefaultExtension
	}

	// skipBlock is the CLI's diff.skip: each true field drops that kind of
	// change from every plan. DropSchema is skipped by the engine anyway.
	skipBlock struct {
		AddSchema        bool `spec:"add_schema"`
		DropSchema       bool `spec:"drop_schema"`
		ModifySchema     bool `spec:"modify_schema"`
		AddTable         bool `spec:"add_table"`
		DropTable        bool `spec:"drop_table"`
		ModifyTable      bool `spec:"modify_table"`
		RenameTable      bool `spec:"rename_table"`
		AddColumn        bool `spec:"add_column"`
		DropColumn       bool `spec:"drop_column"`
		ModifyColumn     bool `spec:"modify_column"`
		AddIndex         bool `spec:"add_index"`
		DropIndex        bool `spec:"drop_index"`
		ModifyIndex      bool `spec:"modify_index"`
		AddForeignKey    bool `spec:"add_foreign_key"`
		DropForeignKey   bool `spec:"drop_foreign_key"`
		ModifyForeignKey bool `spec:"modify_foreign_key"`
		RenameConstraint bool `spec:"rename_constraint"`
		schemahcl.DefaultExtension
	}

	// lintBlock keeps the analyzer blocks (destructive { error = true }, ...)
	// in its extension: sqlcheck analyzers read them from there.
	lintBlock struct {
		schemahcl.DefaultExtension
	}
)

func init() {
	schemahcl.Register("env", &envBlock{})
}

// config is the selected env of atlas.hcl, resolved: paths are absolute and
// the URLs are whatever the environment gave (possibly empty).
type config struct {
	File         string   // atlas.hcl, as given
	Env          string   // env name
	URL          string   // DATABASE_URL through getenv; never printed
	DevURL       string   // ATLAS_DEV_URL through getenv; never printed
	Sources      []string // schema HCL files
	MigrationDir string   // absolute directory path ("" when not configured)
	LockTimeout  time.Duration
	diff         *diffBlock
	lint         *lintBlock
}

// defaultLockTimeout bounds the wait for another migrate apply, like the
// official CLI's --lock-timeout default.
const defaultLockTimeout = 10 * time.Second

// getenvFunc is atlas.hcl's getenv, reading variables through lookup: the
// process environment, or a serve request's (see serve.go).
func getenvFunc(lookup func(string) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "key", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(lookup(args[0].AsString())), nil
		},
	})
}

// loadConfig evaluates atlas.hcl and returns the env named envName.
func loadConfig(path, envName string) (*config, error) {
	return loadConfigWith(path, envName, os.Getenv)
}

// loadConfigWith is loadConfig with getenv answered by lookup.
func loadConfigWith(path, envName string, lookup func(string) string) (*config, error) {
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fail(reasonConfigInvalid, "%s: %v", path, err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(reasonConfigInvalid, "%s cannot be read: %v", path, unwrapPathError(err))
	}
	parser := hclparse.NewParser()
	if _, diags := parser.ParseHCL(src, filepath.Base(path)); diags.HasErrors() {
		return nil, fail(reasonConfigInvalid, "%s", hclMessage(diags, filepath.Base(path)))
	}
	state := schemahcl.New(
		schemahcl.WithVariables(map[string]cty.Value{
			"atlas": cty.ObjectVal(map[string]cty.Value{"env": cty.StringVal(envName)}),
		}),
		schemahcl.WithFunctions(map[string]function.Function{
			"getenv":  getenvFunc(lookup),
			"file":    schemahcl.MakeFileFunc(base),
			"glob":    schemahcl.MakeGlobFunc(base),
			"fileset": schemahcl.MakeFileSetFunc(base),
		}),
	)
	p := &project{}
	if err := state.Eval(parser, p, nil); err != nil {
		return nil, fail(reasonConfigInvalid, "%s", hclMessage(err, filepath.Base(path)))
	}
	var env *envBlock
	for _, e := range p.Envs {
		if e.Name == envName {
			env = e
		}
	}
	if env == nil {
		return nil, fail(reasonConfigInvalid, "%s has no env %q", filepath.Base(path), envName)
	}
	return resolveEnv(path, base, env, p)
}

func resolveEnv(path, base string, env *envBlock, p *project) (*config, error) {
	c := &config{File: path, Env: env.Name, URL: env.URL, DevURL: env.DevURL, LockTimeout: defaultLockTimeout}
	rememberSecret(c.URL)
	rememberSecret(c.DevURL)
	srcs, err := envSources(env)
	if err != nil {
		return nil, fail(reasonConfigInvalid, "%s env %q: %v", filepath.Base(path), env.Name, err)
	}
	for _, s := range srcs {
		file, err := fileURLPath(base, s)
		if err != nil {
			return nil, fail(reasonConfigInvalid, "%s env %q: src %v", filepath.Base(path), env.Name, err)
		}
		c.Sources = append(c.Sources, file)
	}
	if m := env.Migration; m != nil {
		if m.Dir != "" {
			if c.MigrationDir, err = fileURLPath(base, m.Dir); err != nil {
				return nil, fail(reasonConfigInvalid, "%s env %q: migration dir %v", filepath.Base(path), env.Name, err)
			}
		}
		if m.LockTimeout != "" {
			if c.LockTimeout, err = time.ParseDuration(m.LockTimeout); err != nil {
				return nil, fail(reasonConfigInvalid, "%s env %q: migration lock_timeout %q is not a duration such as 10s", filepath.Base(path), env.Name, m.LockTimeout)
			}
		}
	}
	c.diff = env.Diff
	if c.diff == nil {
		c.diff = p.Diff
	}
	c.lint = env.Lint
	if c.lint == nil || (len(c.lint.Extra.Children) == 0 && len(c.lint.Extra.Attrs) == 0) {
		c.lint = p.Lint
	}
	return c, nil
}

// envSources reads the env's src: one string or a list of strings.
func envSources(env *envBlock) ([]string, error) {
	attr, ok := env.Attr("src")
	if !ok {
		return nil, nil
	}
	switch {
	case attr.V.Type() == cty.String:
		s, err := attr.String()
		return []string{s}, err
	case attr.V.Type().IsListType() || attr.V.Type().IsTupleType():
		return attr.Strings()
	default:
		return nil, errors.New("src must be a string or a list of strings")
	}
}

// fileURLPath turns "file://x" (relative to base) into an absolute path.
func fileURLPath(base, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("%q is not a file:// URL", raw)
	}
	p := filepath.Join(u.Host, u.Path)
	if p == "" {
		return "", fmt.Errorf("%q names no path", raw)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return p, nil
}

// requireURL returns the target database URL or a sentence saying how to set it.
func (c *config) requireURL() (string, error) {
	if c.URL == "" {
		return "", fail(reasonConfigInvalid, "env %q of %s has an empty url: set the environment variable it reads (DATABASE_URL in this project)", c.Env, filepath.Base(c.File))
	}
	return c.URL, nil
}

// requireDevURL returns the dev database URL or a sentence saying how to set it.
func (c *config) requireDevURL() (string, error) {
	if c.DevURL == "" {
		return "", fail(reasonConfigInvalid, "env %q of %s has an empty dev url: set the environment variable it reads (ATLAS_DEV_URL in this project) to an empty scratch database", c.Env, filepath.Base(c.File))
	}
	return c.DevURL, nil
}

// requireMigrationDir returns the migration directory or says it is missing.
func (c *config) requireMigrationDir() (string, error) {
	if c.MigrationDir == "" {
		return "", fail(reasonConfigInvalid, "env %q of %s has no migration { dir = \"file://...\" }", c.Env, filepath.Base(c.File))
	}
	return c.MigrationDir, nil
}

// diffOptions are the options atlas.hcl's diff block gives, plus the rule
// that other schemas are never dropped.
func (c *config) diffOptions() []schema.DiffOption {
	opts := []schema.DiffOption{schema.DiffSkipChanges(&schema.DropSchema{})}
	if c.diff != nil {
		extra := c.diff.DefaultExtension
		opts = append(opts, func(o *schema.DiffOptions) { o.Extra = extra })
		if skipped := skippedChanges(c.diff.Skip); len(skipped) > 0 {
			opts = append(opts, schema.DiffSkipChanges(skipped...))
		}
	}
	return opts
}

// skippedChanges maps diff.skip's true fields to change types, by name, as
// the CLI does (field AddTable -> *schema.AddTable).
func skippedChanges(skip *skipBlock) []schema.Change {
	if skip == nil {
		return nil
	}
	var changes []schema.Change
	v := reflect.ValueOf(skip).Elem()
	for _, c := range []schema.Change{
		&schema.AddSchema{}, &schema.DropSchema{}, &schema.ModifySchema{},
		&schema.AddTable{}, &schema.DropTable{}, &schema.ModifyTable{}, &schema.RenameTable{},
		&schema.AddColumn{}, &schema.DropColumn{}, &schema.ModifyColumn{}, &schema.AddIndex{},
		&schema.DropIndex{}, &schema.ModifyIndex{}, &schema.AddForeignKey{}, &schema.DropForeignKey{},
		&schema.ModifyForeignKey{}, &schema.RenameConstraint{},
	} {
		if v.FieldByName(reflect.TypeOf(c).Elem().Name()).Bool() {
			changes = append(changes, c)
		}
	}
	return changes
}

// lintResource is the lint block's analyzer configuration.
func (c *config) lintResource() *schemahcl.Resource {
	if c.lint == nil {
		return &schemahcl.Resource{}
	}
	return c.lint.Remain()
}

var hclPosPattern = regexp.MustCompile(`([^\s:]+\.hcl):(\d+),(\d+)(?:-\d+(?:,\d+)?)?: `)

// hclMessage makes one sentence naming file and line from an HCL error.
func hclMessage(err error, file string) string {
	var diags hcl.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			if d.Subject != nil {
				return fmt.Sprintf("%s line %d: %s", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, sentence(scrub(msg)))
			}
			return fmt.Sprintf("%s: %s", file, sentence(scrub(msg)))
		}
	}
	// The position is read before scrubbing: "schema.hcl:12" looks like a host:port.
	msg := sentence(err.Error())
	if m := hclPosPattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		rest := scrub(strings.Replace(msg, m[0], "", 1))
		return fmt.Sprintf("%s line %d: %s", filepath.Base(m[1]), line, strings.TrimPrefix(rest, "schemahcl: "))
	}
	return fmt.Sprintf("%s: %s", file, strings.TrimPrefix(scrub(msg), "schemahcl: "))
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
