package client

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint returns the log's current signed checkpoint note.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	_, body, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/log/checkpoint"})
	return body, err
}

// LogKey returns the verifier key the server says it signs with. An auditor should get the key
// out of band; this is for convenience and comparison.
func (c *Client) LogKey(ctx context.Context) (string, error) {
	_, body, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/log/key"})
	return strings.TrimSpace(string(body)), err
}

// LogEntry returns the leaf at index.
func (c *Client) LogEntry(ctx context.Context, index int64) ([]byte, error) {
	var out struct {
		Leaf []byte `json:"leaf"`
	}
	_, err := c.call(ctx, http.MethodGet, "/v1/log/entries/"+strconv.FormatInt(index, 10), nil, nil, &out)
	return out.Leaf, err
}

type proofResponse struct {
	Proof []tlog.Hash `json:"proof"`
}

// InclusionProof returns the proof that leaf index is in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	var out proofResponse
	_, err := c.call(ctx, http.MethodGet, "/v1/log/proof/inclusion?index="+strconv.FormatInt(index, 10)+"&size="+strconv.FormatInt(size, 10), nil, nil, &out)
	return out.Proof, err
}

// ConsistencyProof returns the proof that the tree of size from is a prefix of the tree of size to.
func (c *Client) ConsistencyProof(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	var out proofResponse
	_, err := c.call(ctx, http.MethodGet, "/v1/log/proof/consistency?from="+strconv.FormatInt(from, 10)+"&to="+strconv.FormatInt(to, 10), nil, nil, &out)
	return out.Proof, err
}
