// Package console is Nurture's browser admin console: plain ES modules and
// CSS embedded in the binary (no CDN, no build step), served by the API
// process at / (the page) and /console/... (its assets). The console talks
// only to the public API, signed in with a session cookie (POST
// /v1/session); see docs/DESIGN.md, "Console".
package console

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

var static, _ = fs.Sub(files, "static")

// CSP is the Content-Security-Policy of every console response: everything
// from this origin only, no inline script or style, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Headers sets the security headers of a console response.
func Headers(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Serve answers GET and HEAD of / and /console/<asset>; it reports false
// (writing nothing) for any other request, which the API answers itself.
func Serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	var name string
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		name = "index.html"
	case strings.HasPrefix(p, "/console/"):
		name = strings.TrimPrefix(path.Clean(p), "/console/")
		if name == "" || strings.HasPrefix(name, ".") || name == "index.html" {
			return false
		}
	default:
		return false
	}
	body, err := fs.ReadFile(static, name)
	if err != nil {
		return false
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	}
	h := w.Header()
	Headers(h)
	h.Set("Content-Type", ctype)
	// Assets change with the binary; revalidate each load (they are small).
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return true
}
