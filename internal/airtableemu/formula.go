package airtableemu

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A small interpreter for Airtable's formula language, enough for
// filterByFormula: {Field} references (and bare one-word names), string and
// number literals, = != <> < > <= >= & + - * /, and the functions AND, OR,
// NOT, XOR, IF, TRUE, FALSE, BLANK, RECORD_ID, CREATED_TIME, LOWER, UPPER,
// TRIM, LEN, FIND, SEARCH, CONCATENATE, ARRAYJOIN, VALUE, T, LEFT, RIGHT, MID,
// REGEX_MATCH and ABS. Values are nil (blank), string, float64 or bool.
// Multiple-select and other array cells read as their items joined with ", ",
// as in Airtable.

type evalCtx struct {
	t *table
	r *record
}

type node func(c *evalCtx) any

// formula is a compiled filterByFormula.
type formula struct {
	root node
}

func (f *formula) match(t *table, r *record) bool {
	return truthy(f.root(&evalCtx{t: t, r: r}))
}

func errFormula() *apiError {
	return typedErr(422, "INVALID_FILTER_BY_FORMULA",
		"The formula for filtering records is invalid: Invalid formula. Please check your formula text.")
}

// compileFormula parses src for table t. An empty formula yields nil.
func compileFormula(src string, t *table) (*formula, *apiError) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	toks, ok := tokenize(src)
	if !ok {
		return nil, errFormula()
	}
	p := &parser{toks: toks, t: t}
	root := p.expr()
	if p.err == nil && p.pos != len(p.toks) {
		p.err = errFormula()
	}
	if p.err == nil && len(p.unknown) > 0 {
		p.err = typedErr(422, "INVALID_FILTER_BY_FORMULA",
			"The formula for filtering records is invalid: Unknown field names: "+strings.Join(p.unknown, ", "))
	}
	if p.err != nil {
		return nil, p.err
	}
	return &formula{root: root}, nil
}

type tokKind int

const (
	tkField tokKind = iota
	tkString
	tkNumber
	tkIdent
	tkOp
)

type token struct {
	kind tokKind
	text string
	num  float64
}

func tokenize(s string) ([]token, bool) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '{':
			j := strings.IndexByte(s[i+1:], '}')
			if j < 0 {
				return nil, false
			}
			out = append(out, token{kind: tkField, text: s[i+1 : i+1+j]})
			i += j + 2
		case c == '\'' || c == '"':
			var sb strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) {
					switch s[j+1] {
					case 'n':
						sb.WriteByte('\n')
					case 't':
						sb.WriteByte('\t')
					default:
						sb.WriteByte(s[j+1])
					}
					j += 2
					continue
				}
				if s[j] == c {
					closed = true
					j++
					break
				}
				sb.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, false
			}
			out = append(out, token{kind: tkString, text: sb.String()})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && s[k] >= '0' && s[k] <= '9' {
					for k < len(s) && s[k] >= '0' && s[k] <= '9' {
						k++
					}
					j = k
				}
			}
			f, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, false
			}
			out = append(out, token{kind: tkNumber, num: f})
			i = j
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)) || c >= utf8.RuneSelf:
			j := i
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += n
			}
			if j == i {
				return nil, false
			}
			out = append(out, token{kind: tkIdent, text: s[i:j]})
			i = j
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "!=", "<>", "<=", ">=", "==":
				if two == "<>" {
					two = "!="
				}
				if two == "==" {
					two = "="
				}
				out = append(out, token{kind: tkOp, text: two})
				i += 2
				continue
			}
			if !strings.ContainsRune("=<>&+-*/(),", rune(c)) {
				return nil, false
			}
			out = append(out, token{kind: tkOp, text: string(c)})
			i++
		}
	}
	return out, true
}

type parser struct {
	toks    []token
	pos     int
	t       *table
	err     *apiError
	unknown []string
}

func (p *parser) peekOp(ops ...string) string {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == tkOp {
		for _, o := range ops {
			if p.toks[p.pos].text == o {
				return o
			}
		}
	}
	return ""
}

func (p *parser) fail() node {
	if p.err == nil {
		p.err = errFormula()
	}
	return func(*evalCtx) any { return nil }
}

func (p *parser) expr() node {
	left := p.concat()
	for p.err == nil {
		op := p.peekOp("=", "!=", "<", ">", "<=", ">=")
		if op == "" {
			return left
		}
		p.pos++
		l, r := left, p.concat()
		switch op {
		case "=":
			left = func(c *evalCtx) any { return equal(l(c), r(c)) }
		case "!=":
			left = func(c *evalCtx) any { return !equal(l(c), r(c)) }
		default:
			left = func(c *evalCtx) any {
				cmp, ok := compare(l(c), r(c))
				if !ok {
					return false
				}
				switch op {
				case "<":
					return cmp < 0
				case ">":
					return cmp > 0
				case "<=":
					return cmp <= 0
				}
				return cmp >= 0
			}
		}
	}
	return left
}

func (p *parser) concat() node {
	left := p.additive()
	for p.err == nil && p.peekOp("&") != "" {
		p.pos++
		l, r := left, p.additive()
		left = func(c *evalCtx) any { return toStr(l(c)) + toStr(r(c)) }
	}
	return left
}

func (p *parser) additive() node {
	left := p.multiplicative()
	for p.err == nil {
		op := p.peekOp("+", "-")
		if op == "" {
			return left
		}
		p.pos++
		l, r := left, p.multiplicative()
		if op == "+" {
			left = func(c *evalCtx) any { return toNum(l(c)) + toNum(r(c)) }
		} else {
			left = func(c *evalCtx) any { return toNum(l(c)) - toNum(r(c)) }
		}
	}
	return left
}

func (p *parser) multiplicative() node {
	left := p.unary()
	for p.err == nil {
		op := p.peekOp("*", "/")
		if op == "" {
			return left
		}
		p.pos++
		l, r := left, p.unary()
		if op == "*" {
			left = func(c *evalCtx) any { return toNum(l(c)) * toNum(r(c)) }
		} else {
			left = func(c *evalCtx) any {
				d := toNum(r(c))
				if d == 0 {
					return nil
				}
				return toNum(l(c)) / d
			}
		}
	}
	return left
}

func (p *parser) unary() node {
	if p.peekOp("-") != "" {
		p.pos++
		x := p.unary()
		return func(c *evalCtx) any { return -toNum(x(c)) }
	}
	if p.peekOp("+") != "" {
		p.pos++
		return p.unary()
	}
	return p.primary()
}

func (p *parser) field(name string) node {
	if _, ok := p.t.colIdx[name]; !ok && p.t.strict {
		p.unknown = append(p.unknown, name)
	}
	return func(c *evalCtx) any { return formulaValue(c.t.value(c.r, name)) }
}

func (p *parser) primary() node {
	if p.pos >= len(p.toks) {
		return p.fail()
	}
	tk := p.toks[p.pos]
	p.pos++
	switch tk.kind {
	case tkField:
		return p.field(tk.text)
	case tkString:
		s := tk.text
		return func(*evalCtx) any { return s }
	case tkNumber:
		n := tk.num
		return func(*evalCtx) any { return n }
	case tkIdent:
		if p.peekOp("(") == "" {
			switch strings.ToUpper(tk.text) {
			case "TRUE":
				return func(*evalCtx) any { return true }
			case "FALSE":
				return func(*evalCtx) any { return false }
			}
			return p.field(tk.text)
		}
		p.pos++
		var args []node
		if p.peekOp(")") == "" {
			for {
				args = append(args, p.expr())
				if p.err != nil {
					return p.fail()
				}
				if p.peekOp(",") != "" {
					p.pos++
					continue
				}
				break
			}
		}
		if p.peekOp(")") == "" {
			return p.fail()
		}
		p.pos++
		fn := p.function(strings.ToUpper(tk.text), args)
		if fn == nil {
			return p.fail()
		}
		return fn
	case tkOp:
		if tk.text == "(" {
			x := p.expr()
			if p.peekOp(")") == "" {
				return p.fail()
			}
			p.pos++
			return x
		}
	}
	return p.fail()
}

// function returns the node for a call, or nil if the name or the number of
// arguments is wrong.
func (p *parser) function(name string, a []node) node {
	n := len(a)
	arity := func(lo, hi int) bool { return n >= lo && (hi < 0 || n <= hi) }
	switch name {
	case "AND", "OR", "XOR":
		if !arity(1, -1) {
			return nil
		}
		return func(c *evalCtx) any {
			count := 0
			for _, x := range a {
				if truthy(x(c)) {
					count++
				}
			}
			switch name {
			case "AND":
				return count == len(a)
			case "OR":
				return count > 0
			}
			return count%2 == 1
		}
	case "NOT":
		if !arity(1, 1) {
			return nil
		}
		return func(c *evalCtx) any { return !truthy(a[0](c)) }
	case "IF":
		if !arity(2, 3) {
			return nil
		}
		return func(c *evalCtx) any {
			if truthy(a[0](c)) {
				return a[1](c)
			}
			if n == 3 {
				return a[2](c)
			}
			return nil
		}
	case "TRUE", "FALSE", "BLANK", "RECORD_ID", "CREATED_TIME":
		if n != 0 {
			return nil
		}
		switch name {
		case "TRUE":
			return func(*evalCtx) any { return true }
		case "FALSE":
			return func(*evalCtx) any { return false }
		case "BLANK":
			return func(*evalCtx) any { return nil }
		case "RECORD_ID":
			return func(c *evalCtx) any { return c.r.id }
		}
		return func(c *evalCtx) any { return formatTime(c.r.created) }
	case "LOWER", "UPPER", "TRIM", "LEN", "T", "VALUE", "ABS":
		if !arity(1, 1) {
			return nil
		}
		return func(c *evalCtx) any {
			v := a[0](c)
			switch name {
			case "LOWER":
				return strings.ToLower(toStr(v))
			case "UPPER":
				return strings.ToUpper(toStr(v))
			case "TRIM":
				return strings.TrimSpace(toStr(v))
			case "LEN":
				return float64(utf8.RuneCountInString(toStr(v)))
			case "T":
				if s, ok := v.(string); ok {
					return s
				}
				return ""
			case "ABS":
				return math.Abs(toNum(v))
			}
			return toNum(v)
		}
	case "FIND", "SEARCH":
		if !arity(2, 3) {
			return nil
		}
		return func(c *evalCtx) any {
			needle, hay := toStr(a[0](c)), toStr(a[1](c))
			start := 0
			if n == 3 {
				start = max(int(toNum(a[2](c)))-1, 0)
			}
			if name == "SEARCH" {
				needle, hay = strings.ToLower(needle), strings.ToLower(hay)
			}
			pos := 0
			if start <= len(hay) {
				if i := strings.Index(hay[start:], needle); i >= 0 {
					pos = start + i + 1
				}
			}
			if pos == 0 && name == "SEARCH" {
				return nil
			}
			return float64(pos)
		}
	case "CONCATENATE":
		return func(c *evalCtx) any {
			var sb strings.Builder
			for _, x := range a {
				sb.WriteString(toStr(x(c)))
			}
			return sb.String()
		}
	case "ARRAYJOIN":
		if !arity(1, 2) {
			return nil
		}
		return func(c *evalCtx) any {
			s := toStr(a[0](c))
			if n == 2 {
				s = strings.ReplaceAll(s, ", ", toStr(a[1](c)))
			}
			return s
		}
	case "LEFT", "RIGHT":
		if !arity(2, 2) {
			return nil
		}
		return func(c *evalCtx) any {
			r := []rune(toStr(a[0](c)))
			k := min(max(int(toNum(a[1](c))), 0), len(r))
			if name == "LEFT" {
				return string(r[:k])
			}
			return string(r[len(r)-k:])
		}
	case "MID":
		if !arity(3, 3) {
			return nil
		}
		return func(c *evalCtx) any {
			r := []rune(toStr(a[0](c)))
			from := min(max(int(toNum(a[1](c)))-1, 0), len(r))
			to := min(from+max(int(toNum(a[2](c))), 0), len(r))
			return string(r[from:to])
		}
	case "REGEX_MATCH":
		if !arity(2, 2) {
			return nil
		}
		return func(c *evalCtx) any {
			re, err := regexp.Compile(toStr(a[1](c)))
			if err != nil {
				return false
			}
			return re.MatchString(toStr(a[0](c)))
		}
	}
	return nil
}

// formulaValue converts a stored cell to a formula value.
func formulaValue(v any) any {
	switch x := v.(type) {
	case nil, string, float64, bool:
		return x
	case []any:
		return formatValue(x)
	}
	return formatValue(v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return true
}

func toNum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil {
			return f
		}
	}
	return 0
}

func toStr(v any) string {
	return formatValue(v)
}

func isBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	}
	return false
}

// equal follows Airtable's loose equality: a blank cell equals ”, 0 and
// FALSE(); booleans compare as 0/1; a string compares with a number
// numerically when it parses as one.
func equal(a, b any) bool {
	if a == nil || b == nil {
		return isBlank(a) && isBlank(b)
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	if aStr && bStr {
		return as == bs
	}
	if aStr || bStr {
		s, other := as, b
		if !aStr {
			s, other = bs, a
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return s == toStr(other)
		}
		return f == toNum(other)
	}
	return toNum(a) == toNum(b)
}

// compare orders two values numerically when both are numeric, else as text.
func compare(a, b any) (int, bool) {
	an, aok := numeric(a)
	bn, bok := numeric(b)
	if aok && bok {
		switch {
		case an < bn:
			return -1, true
		case an > bn:
			return 1, true
		}
		return 0, true
	}
	return strings.Compare(toStr(a), toStr(b)), true
}

func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case nil:
		return 0, true
	case float64:
		return x, true
	case bool:
		return toNum(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}
