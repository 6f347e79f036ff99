package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestKeepWritingOutlastsWriteTimeout streams for three times the server's WriteTimeout: with
// keepWriting called for each row the client reads every row; without it the server cuts the
// response at the timeout, as it would cut a large export.
func TestKeepWritingOutlastsWriteTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keep     bool
		complete bool
	}{{"KeepWriting", true, true}, {"WithoutIt", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				alive := keepWriting(w)
				for i := range 12 {
					if tc.keep {
						alive()
					}
					time.Sleep(50 * time.Millisecond)
					if _, err := fmt.Fprintf(w, "row %d\n", i); err != nil {
						return
					}
					http.NewResponseController(w).Flush()
				}
			}))
			srv.Config.WriteTimeout = 200 * time.Millisecond
			srv.Start()
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if complete := err == nil && len(body) == len("row 0\n")*10+len("row 10\n")*2; complete != tc.complete {
				t.Fatalf("read %d bytes (%v); complete %v, want %v", len(body), err, complete, tc.complete)
			}
		})
	}
}
