package console

import (
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name, wantType string
		found          bool
	}{
		{"", "text/html; charset=utf-8", true}, // the index
		{"index.html", "text/html; charset=utf-8", true},
		{"app.js", "text/javascript; charset=utf-8", true},
		{"style.css", "text/css; charset=utf-8", true},
		{"nope.js", "", false},
		{"../console.go", "", false},
		{"/app.js", "", false},
		{"assets/app.js", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, ok := Lookup(c.name)
			if ok != c.found {
				t.Fatalf("found %v, want %v", ok, c.found)
			}
			if ok && (a.ContentType != c.wantType || len(a.Body) == 0 || !strings.HasPrefix(a.ETag, `"`)) {
				t.Fatalf("asset %+v", a)
			}
		})
	}
}

// TestAssetsAreSelfContained checks that the pages load nothing from another origin and run no
// inline script, which the content security policy would block anyway.
func TestAssetsAreSelfContained(t *testing.T) {
	var names []string
	for n := range loadAssets() {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"api.js", "app.js", "charts.js", "diff.js", "dom.js", "graph.js", "index.html", "merkle.js", "style.css"}
	if !slices.Equal(names, want) {
		t.Fatalf("assets %v, want %v", names, want)
	}
	for _, n := range names {
		a, _ := Lookup(n)
		body := string(a.Body)
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "eval("} {
			if n == "dom.js" {
				body = strings.ReplaceAll(body, `"http://www.w3.org/2000/svg"`, "") // the SVG namespace, not a fetch
			}
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", n, bad)
			}
		}
	}
	idx, _ := Lookup("")
	if strings.Contains(string(idx.Body), "<script>") {
		t.Error("the index has an inline script")
	}
	if !strings.Contains(SecurityHeaders["Content-Security-Policy"], "script-src 'self'") {
		t.Error("the policy admits scripts from elsewhere")
	}
}
