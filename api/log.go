package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"golang.org/x/mod/sumdb/tlog"
)

// logError turns the ledger's range errors into 404s (an entry or tree that does not exist yet).
func logError(err error) error {
	if errors.Is(err, ledger.ErrOutOfRange) {
		return registry.Errorf(registry.ENOTFOUND, "%s", err.Error())
	}
	return err
}

// getCheckpoint returns the signed checkpoint of the log as it stands, as a C2SP tlog-checkpoint note.
func (s *Server) getCheckpoint(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	msg, _, err := s.ledger.Checkpoint(c.Request().Context())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", msg)
}

// getLogKey returns the note verifier key of the checkpoints.
func (s *Server) getLogKey(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(s.ledger.VerifierKey()+"\n"))
}

// logEntry is one leaf of the log.
type logEntry struct {
	Index int64  `json:"index"`
	Leaf  []byte `json:"leaf"` // base64
}

func (s *Server) getLogEntry(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	i, ok := decimal(c.Param("index"))
	if !ok {
		return registry.FieldErrorf("index", "must be a log index in decimal digits without a sign or leading zeros (0, 1, …), not %q", c.Param("index"))
	}
	if i < 0 {
		return registry.Errorf(registry.ENOTFOUND, "log entry %s not found: it is beyond any log", c.Param("index"))
	}
	leaf, err := s.ledger.Entry(c.Request().Context(), i)
	if err != nil {
		return logError(err)
	}
	return c.JSON(http.StatusOK, logEntry{Index: i, Leaf: leaf})
}

// proof is an inclusion or consistency proof: hashes in the RFC 6962 hashing of sumdb/tlog.
type proof struct {
	Index *int64      `json:"index,omitempty"`
	Size  *int64      `json:"size,omitempty"`
	From  *int64      `json:"from,omitempty"`
	To    *int64      `json:"to,omitempty"`
	Proof []tlog.Hash `json:"proof"`
}

func int64Param(q *query, name string) *int64 {
	v := q.intp(name, 0, 1<<62)
	if v == nil {
		if q.err == nil {
			q.err = registry.FieldErrorf(name, "is required")
		}
		return nil
	}
	n := int64(*v)
	return &n
}

func (s *Server) getInclusionProof(c echo.Context) error {
	q, err := newQuery(c, "index", "size")
	if err != nil {
		return err
	}
	index, size := int64Param(q, "index"), int64Param(q, "size")
	if err := q.done(); err != nil {
		return err
	}
	if *index >= *size {
		return registry.FieldErrorf("index", "must be less than size")
	}
	p, err := s.ledger.Inclusion(c.Request().Context(), *index, *size)
	if err != nil {
		return logError(err)
	}
	return c.JSON(http.StatusOK, proof{Index: index, Size: size, Proof: nonNil(p)})
}

func (s *Server) getConsistencyProof(c echo.Context) error {
	q, err := newQuery(c, "from", "to")
	if err != nil {
		return err
	}
	from, to := int64Param(q, "from"), int64Param(q, "to")
	if err := q.done(); err != nil {
		return err
	}
	if *from > *to {
		return registry.FieldErrorf("from", "must not be greater than to")
	}
	p, err := s.ledger.Consistency(c.Request().Context(), *from, *to)
	if err != nil {
		return logError(err)
	}
	return c.JSON(http.StatusOK, proof{From: from, To: to, Proof: nonNil(p)})
}

func nonNil(p []tlog.Hash) []tlog.Hash {
	if p == nil {
		return []tlog.Hash{}
	}
	return p
}
