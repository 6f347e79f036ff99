package client

import (
	"context"
	"net/http"

	"github.com/pedigreeml/pedigree/registry"
)

// Rescore re-scores one page of stored samples with the server's current toxicity scorer (POST
// /v1/admin/rescore, role admin); continue with req.After set to the result's NextAfter until
// Remaining is 0.
func (c *Client) Rescore(ctx context.Context, req registry.RescoreRequest) (*registry.RescoreResult, error) {
	var out registry.RescoreResult
	if _, err := c.call(ctx, http.MethodPost, "/v1/admin/rescore", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
