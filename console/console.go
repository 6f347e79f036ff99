// Package console holds the auditors' web console: static HTML, CSS and JavaScript modules embedded
// in the binary, served by the API under /ui/. The pages call the REST API from the browser with the
// API key the user signs in with, kept in the tab's sessionStorage; nothing is fetched from another
// origin, and no page is rendered on the server.
//
// The package does not serve HTTP itself (the api package is the only one that imports echo): it
// answers which asset a path names, with its content type and an entity tag, and the headers every
// console response must carry.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"
)

//go:embed assets
var assets embed.FS

// Asset is one embedded file of the console.
type Asset struct {
	Name        string // the path under /ui/, such as "app.js"
	ContentType string
	Body        []byte
	ETag        string // a strong entity tag: the quoted SHA-256 of the body, shortened
}

// Index is the asset served at /ui/ itself.
const Index = "index.html"

var loadAssets = sync.OnceValue(func() map[string]*Asset {
	out := map[string]*Asset{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum := sha256.Sum256(b)
		out[name] = &Asset{Name: name, ContentType: contentType(name), Body: b, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: reading the embedded assets: " + err.Error()) // the embed is part of the binary
	}
	return out
})

// contentType names the media type of an asset by its extension, with charset for text; the few
// extensions the console uses are spelled out so that the answer does not depend on the host's
// MIME tables.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Lookup returns the asset at name, a path relative to /ui/ ("" is the index). Directories, names
// with "..", and files that are not embedded are not found.
func Lookup(name string) (*Asset, bool) {
	if name == "" {
		name = Index
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, false
	}
	a, ok := loadAssets()[name]
	return a, ok
}

// SecurityHeaders are the headers of every console response. The content security policy admits
// only the console's own scripts, styles and API (no inline script, no other origin), blob: and
// data: images, and no framing of the console. The report's HTML is shown from srcdoc in a frame
// sandboxed without scripts; downloads are blob: URLs behind a link the page clicks.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
	"Cache-Control":          "no-cache",
}
