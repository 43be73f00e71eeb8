// Package logging builds the zap logger and masks personal data before it
// reaches a log line.
package logging

import (
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a production zap logger at the given level; format "console"
// gives human-readable lines for local runs.
func New(level, format string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	}
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	return cfg.Build()
}

// MaskPhone keeps the last two digits of a phone number: +1*********23.
func MaskPhone(p string) string {
	if p == "" {
		return ""
	}
	var b strings.Builder
	digits := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	seen := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			seen++
			if seen > digits-2 {
				b.WriteRune(r)
				continue
			}
			b.WriteByte('*')
			continue
		}
		if r == '+' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MaskEmail keeps the first letter of the local part and the domain: j***@example.com.
func MaskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		if e == "" {
			return ""
		}
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// Phone is a zap field holding a masked phone number.
func Phone(key, p string) zap.Field { return zap.String(key, MaskPhone(p)) }

// Email is a zap field holding a masked e-mail address.
func Email(key, e string) zap.Field { return zap.String(key, MaskEmail(e)) }
