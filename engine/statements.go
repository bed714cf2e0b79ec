package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// stmtInfo is what PostgreSQL's own parser says about one statement.
type stmtInfo struct {
	// Kind is the parse node type, e.g. CreateStmt, IndexStmt, AlterTableStmt.
	Kind string `json:"kind"`
	// Concurrently: CREATE/DROP/REINDEX ... CONCURRENTLY, DETACH PARTITION ... CONCURRENTLY.
	Concurrently bool `json:"concurrently"`
	// Transactional is false for statements PostgreSQL refuses inside a
	// transaction block (or that end one).
	Transactional bool `json:"transactional"`
	// Tables are the relations the statement names, "schema.table" when qualified.
	Tables []string `json:"tables"`
	// Error is the parser's message when the statement is not valid SQL.
	Error string `json:"error,omitempty"`
}

// sqlStatement is one statement of a file with its place in it.
type sqlStatement struct {
	Index   int    `json:"index"`   // 1-based
	Line    int    `json:"line"`    // 1-based line of its first character
	EndLine int    `json:"endLine"` // 1-based line of its last character
	Pos     int    `json:"pos"`     // byte offset of its first character
	Text    string `json:"text"`    // the statement, `;` included
	stmtInfo
}

type statementsFile struct {
	File       string         `json:"file"`
	Statements []sqlStatement `json:"statements"`
}

type statementsResult struct {
	Files []statementsFile `json:"files"`
}

// sqlStatements splits and classifies each file ("-" is standard input).
func sqlStatements(files []string, stdin io.Reader) (*statementsResult, error) {
	if len(files) == 0 {
		return nil, usage("sql statements needs at least one FILE (or - for standard input)")
	}
	result := &statementsResult{Files: []statementsFile{}}
	for _, name := range files {
		src, err := readInput(name, stdin)
		if err != nil {
			return nil, err
		}
		stmts, err := splitStatements(string(src))
		if err != nil {
			return nil, fail(reasonSchemaInvalid, "%s cannot be split into statements: %s", displayName(name), err)
		}
		result.Files = append(result.Files, statementsFile{File: name, Statements: stmts})
	}
	return result, nil
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fail(reasonInternal, "standard input cannot be read: %v", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usage("%s cannot be read: %v", name, unwrapPathError(err))
	}
	return b, nil
}

func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return filepath.Base(name)
}

// splitStatements finds the statements of src with PostgreSQL's scanner and
// parser, so that dollar quotes, nested comments, E” strings and BEGIN ATOMIC
// bodies are handled as the server handles them.
func splitStatements(src string) ([]sqlStatement, error) {
	scan, err := pg_query.Scan(src)
	if err != nil {
		return nil, err
	}
	ranges := parserRanges(src)
	if ranges == nil {
		ranges = scannerRanges(scan.Tokens)
	}
	// Ranges come in order and do not overlap, so one walk over the tokens
	// (and over the lines) serves them all: the text's size, not the number
	// of its statements times its size (a 20,000-statement file took 4 s).
	lines := newLineIndex(src)
	var stmts []sqlStatement
	first := 0
	for _, r := range ranges {
		for first < len(scan.Tokens) && int(scan.Tokens[first].Start) < r[0] {
			first++
		}
		start, end, ok := trimToTokens(scan.Tokens[first:], r[0], r[1])
		if !ok {
			continue
		}
		text := src[start:end]
		stmts = append(stmts, sqlStatement{
			Index:    len(stmts) + 1,
			Line:     lines.at(start),
			EndLine:  lines.at(end - 1),
			Pos:      start,
			Text:     text,
			stmtInfo: mustClassify(text),
		})
	}
	return stmts, nil
}

// parserRanges are the byte ranges of the statements as the parser sees
// them, or nil when the text does not parse as a whole.
func parserRanges(src string) [][2]int {
	tree, err := pg_query.Parse(src)
	if err != nil {
		return nil
	}
	ranges := make([][2]int, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		start := int(raw.StmtLocation)
		end := len(src)
		if raw.StmtLen > 0 {
			end = start + int(raw.StmtLen)
		}
		ranges = append(ranges, [2]int{start, end})
	}
	return ranges
}

// scannerRanges splits at every `;` token: the fallback for text with a
// syntax error, so that its other statements are still found.
func scannerRanges(tokens []*pg_query.ScanToken) [][2]int {
	var ranges [][2]int
	start := 0
	for _, t := range tokens {
		if t.Token == pg_query.Token_ASCII_59 {
			ranges = append(ranges, [2]int{start, int(t.Start)})
			start = int(t.End)
		}
	}
	if len(tokens) > 0 {
		ranges = append(ranges, [2]int{start, int(tokens[len(tokens)-1].End)})
	}
	return ranges
}

// trimToTokens narrows [from, to) to its first and last non-comment token and
// takes in the `;` that ends the statement. tokens starts at the range's
// first token or before it; the walk stops at the first token past it.
func trimToTokens(tokens []*pg_query.ScanToken, from, to int) (int, int, bool) {
	start, end := -1, -1
	for i, t := range tokens {
		if int(t.Start) >= to {
			break
		}
		if int(t.Start) < from || isComment(t) {
			continue
		}
		if t.Token == pg_query.Token_ASCII_59 {
			continue
		}
		if start == -1 {
			start = int(t.Start)
		}
		end = int(t.End)
		if next := nextCode(tokens, i+1); next != nil && next.Token == pg_query.Token_ASCII_59 && int(next.Start) >= end {
			end = int(next.End)
		}
	}
	return start, end, start != -1
}

func isComment(t *pg_query.ScanToken) bool {
	return t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT
}

func nextCode(tokens []*pg_query.ScanToken, i int) *pg_query.ScanToken {
	for ; i < len(tokens); i++ {
		if !isComment(tokens[i]) {
			return tokens[i]
		}
	}
	return nil
}

// lineIndex answers lineAt for many offsets of one text: the offsets of its
// newlines, searched.
type lineIndex []int

func newLineIndex(src string) lineIndex {
	var newlines lineIndex
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			newlines = append(newlines, i)
		}
	}
	return newlines
}

// at is lineAt(src, offset) for the text the index was made from.
func (newlines lineIndex) at(offset int) int {
	return sort.SearchInts(newlines, offset) + 1
}

// lineAt is the 1-based line of a byte offset.
func lineAt(src string, offset int) int {
	if offset > len(src) {
		offset = len(src)
	}
	return strings.Count(src[:offset], "\n") + 1
}

// mustClassify classifies a statement; a parse error is kept in the result.
func mustClassify(text string) stmtInfo {
	info, err := classify(text)
	if err != nil {
		return stmtInfo{Transactional: true, Tables: []string{}, Error: err.Error()}
	}
	return info
}

// classify parses one statement and tells its kind, whether it runs
// CONCURRENTLY, whether it may run in a transaction and which tables it names.
func classify(text string) (stmtInfo, error) {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return stmtInfo{}, err
	}
	if len(tree.Stmts) == 0 {
		return stmtInfo{Kind: "Empty", Transactional: true, Tables: []string{}}, nil
	}
	node := tree.Stmts[0].Stmt
	info := stmtInfo{Kind: nodeKind(node), Transactional: true, Tables: tablesOf(node)}
	info.Concurrently = isConcurrent(node)
	info.Transactional = !info.Concurrently && !refusesTransaction(node)
	return info, nil
}

// nodeKind is the node's type name, e.g. *pg_query.Node_CreateStmt -> CreateStmt.
func nodeKind(node *pg_query.Node) string {
	if node == nil || node.Node == nil {
		return ""
	}
	return strings.TrimPrefix(reflect.TypeOf(node.Node).Elem().Name(), "Node_")
}

func isConcurrent(node *pg_query.Node) bool {
	switch n := node.Node.(type) {
	case *pg_query.Node_IndexStmt:
		return n.IndexStmt.Concurrent
	case *pg_query.Node_DropStmt:
		return n.DropStmt.Concurrent
	case *pg_query.Node_ReindexStmt:
		return hasOption(n.ReindexStmt.Params, "concurrently")
	case *pg_query.Node_AlterTableStmt:
		for _, c := range n.AlterTableStmt.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_DetachPartition && cmd.Def.GetPartitionCmd().GetConcurrent() {
				return true
			}
		}
	}
	return false
}

// refusesTransaction lists the statements PostgreSQL runs only outside a
// transaction block (besides the CONCURRENTLY forms), and transaction control.
func refusesTransaction(node *pg_query.Node) bool {
	switch n := node.Node.(type) {
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt,
		*pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_DropTableSpaceStmt,
		*pg_query.Node_AlterSystemStmt, *pg_query.Node_TransactionStmt,
		*pg_query.Node_CreateSubscriptionStmt, *pg_query.Node_DropSubscriptionStmt:
		return true
	case *pg_query.Node_VacuumStmt:
		return n.VacuumStmt.IsVacuumcmd
	case *pg_query.Node_ClusterStmt:
		return n.ClusterStmt.Relation == nil
	case *pg_query.Node_ReindexStmt:
		return n.ReindexStmt.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM ||
			n.ReindexStmt.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE
	}
	return false
}

func hasOption(params []*pg_query.Node, name string) bool {
	for _, p := range params {
		if d := p.GetDefElem(); d != nil && strings.EqualFold(d.Defname, name) {
			return true
		}
	}
	return false
}

// tablesOf collects the relations a statement names: every RangeVar in its
// tree, plus the tables of DROP TABLE and COMMENT ON TABLE/COLUMN, which name
// them as plain lists.
func tablesOf(node *pg_query.Node) []string {
	seen := map[string]bool{}
	tables := []string{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			tables = append(tables, name)
		}
	}
	walkMessages(node.ProtoReflect(), func(m protoreflect.Message) {
		if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
			add(qualified(rv.Schemaname, rv.Relname))
		}
	})
	switch n := node.Node.(type) {
	case *pg_query.Node_DropStmt:
		if n.DropStmt.RemoveType == pg_query.ObjectType_OBJECT_TABLE {
			for _, obj := range n.DropStmt.Objects {
				add(strings.Join(nameList(obj), "."))
			}
		}
	case *pg_query.Node_CommentStmt:
		parts := nameList(n.CommentStmt.Object)
		switch n.CommentStmt.Objtype {
		case pg_query.ObjectType_OBJECT_TABLE:
			add(strings.Join(parts, "."))
		case pg_query.ObjectType_OBJECT_COLUMN:
			if len(parts) > 1 {
				add(strings.Join(parts[:len(parts)-1], "."))
			}
		}
	}
	return tables
}

func qualified(schemaName, name string) string {
	if schemaName == "" {
		return name
	}
	return schemaName + "." + name
}

// nameList reads a List of String nodes (a qualified name).
func nameList(node *pg_query.Node) []string {
	var parts []string
	for _, item := range node.GetList().GetItems() {
		if s := item.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	return parts
}

// walkMessages visits every message of a parse tree.
func walkMessages(m protoreflect.Message, visit func(protoreflect.Message)) {
	visit(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				walkMessages(list.Get(i).Message(), visit)
			}
		case fd.Message() != nil && !fd.IsMap():
			walkMessages(v.Message(), visit)
		}
		return true
	})
}

func (r *statementsResult) human() string {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "%s: %d statement(s)\n", f.File, len(f.Statements))
		for _, s := range f.Statements {
			flags := ""
			if s.Concurrently {
				flags += " concurrently"
			}
			if !s.Transactional {
				flags += " no-transaction"
			}
			if s.Error != "" {
				flags += " error: " + s.Error
			}
			fmt.Fprintf(&b, "  %d  L%d-%d  %s%s  %s\n", s.Index, s.Line, s.EndLine, s.Kind, flags, firstLine(s.Text))
		}
	}
	return b.String()
}
