package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pedigreeml/pedigree/registry"
)

// PutPolicy uploads module as the next version of the policy name. created is false when the text
// equals the latest version's, which is returned.
func (c *Client) PutPolicy(ctx context.Context, name, module string) (pv *registry.PolicyVersion, created bool, err error) {
	status, body, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/v1/policies/" + url.PathEscape(name),
		Body: []byte(module), ContentType: "text/plain; charset=utf-8"})
	if err != nil {
		return nil, false, err
	}
	pv = &registry.PolicyVersion{}
	if err := json.Unmarshal(body, pv); err != nil {
		return nil, false, err
	}
	return pv, status == http.StatusCreated, nil
}

// Policy is a policy with its latest version and the list of its versions.
type Policy struct {
	Name     string                   `json:"name"`
	Latest   registry.PolicyVersion   `json:"latest"`
	Versions []registry.PolicyVersion `json:"versions"`
}

// GetPolicy reads a policy.
func (c *Client) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	var out Policy
	_, err := c.call(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(name), nil, nil, &out)
	return &out, err
}

// GetPolicyVersion reads one version of a policy.
func (c *Client) GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error) {
	var out registry.PolicyVersion
	_, err := c.call(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(name)+"/versions/"+strconv.Itoa(version), nil, nil, &out)
	return &out, err
}

// CreateMix builds a mix. A refusal is a *Problem with code policy_denied, its Violations and
// DecisionID.
func (c *Client) CreateMix(ctx context.Context, req registry.MixRequest, idempotencyKey string) (*registry.Mix, error) {
	var out registry.Mix
	if _, err := c.call(ctx, http.MethodPost, "/v1/mixes", idempotencyHeader(idempotencyKey), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DryRun is the answer of a dry run: the decision and the mix that would be built, unsaved.
type DryRun struct {
	DryRun         bool                 `json:"dry_run"`
	Allowed        bool                 `json:"allowed"`
	Violations     []string             `json:"violations"`
	Policy         registry.PolicyRef   `json:"policy"`
	Size           int                  `json:"size"`
	Strategy       registry.MixStrategy `json:"strategy"`
	Stats          registry.MixStats    `json:"stats"`
	ManifestSHA256 string               `json:"manifest_sha256"`
}

// DryRunMix evaluates a mix request without saving anything.
func (c *Client) DryRunMix(ctx context.Context, req registry.MixRequest) (*DryRun, error) {
	var out DryRun
	if _, err := c.call(ctx, http.MethodPost, "/v1/mixes:dry-run", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetMix reads a mix.
func (c *Client) GetMix(ctx context.Context, id string) (*registry.Mix, error) {
	var out registry.Mix
	_, err := c.call(ctx, http.MethodGet, "/v1/mixes/"+url.PathEscape(id), nil, nil, &out)
	return &out, err
}

// MixPage is one page of a mix listing.
type MixPage struct {
	Mixes      []registry.Mix `json:"mixes"`
	NextCursor string         `json:"next_cursor"`
}

// ListMixes lists one page of mixes.
func (c *Client) ListMixes(ctx context.Context, cursor string, limit int) (*MixPage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out MixPage
	_, err := c.call(ctx, http.MethodGet, "/v1/mixes"+encode(v), nil, nil, &out)
	return &out, err
}

// ExportMix streams a mix's samples as JSON Lines (the jsonl format, from the export's first
// path); the caller closes the reader.
func (c *Client) ExportMix(ctx context.Context, id string) (io.ReadCloser, error) {
	return c.Stream(ctx, Request{Method: http.MethodGet, Path: "/v1/mixes/" + url.PathEscape(id) + "/samples"})
}

// ExportMixFormat streams a mix's samples in format ("jsonl", "chat" or "parquet"; "" is the
// server's default, jsonl); the caller closes the reader. An error while the server streams breaks
// the connection, so a read error other than io.EOF means the export is incomplete.
func (c *Client) ExportMixFormat(ctx context.Context, id, format string) (io.ReadCloser, error) {
	v := url.Values{}
	if format != "" {
		v.Set("format", format)
	}
	return c.Stream(ctx, Request{Method: http.MethodGet, Path: "/v1/mixes/" + url.PathEscape(id) + "/export" + encode(v)})
}

// MixCard returns a mix's Hugging Face dataset card (Markdown with YAML front matter).
func (c *Client) MixCard(ctx context.Context, id string) ([]byte, error) {
	_, body, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/mixes/" + url.PathEscape(id) + "/card"})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// MixCroissant returns a mix's Croissant 1.1 description (JSON-LD).
func (c *Client) MixCroissant(ctx context.Context, id string) ([]byte, error) {
	_, body, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/mixes/" + url.PathEscape(id) + "/croissant"})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// Composition is a mix's lineage summary.
type Composition struct {
	MixID       string         `json:"mix_id"`
	Size        int            `json:"size"`
	Origins     map[string]int `json:"origins"`
	Generations map[string]int `json:"generations"`
	Datasets    map[string]int `json:"datasets"`
	SourceKinds map[string]int `json:"source_kinds"`
	Licenses    map[string]int `json:"licenses"`
	Models      []struct {
		Model           string   `json:"model"`
		Samples         int      `json:"samples"`
		Generation      int      `json:"generation"`
		GenerationBasis string   `json:"generation_basis"`
		TrainedOn       []string `json:"trained_on"`
	} `json:"models"`
}

// MixLineage reads a mix's composition.
func (c *Client) MixLineage(ctx context.Context, id string) (*Composition, error) {
	var out Composition
	_, err := c.call(ctx, http.MethodGet, "/v1/mixes/"+url.PathEscape(id)+"/lineage", nil, nil, &out)
	return &out, err
}

// GetDecision reads a policy decision.
func (c *Client) GetDecision(ctx context.Context, id string) (*registry.Decision, error) {
	var out registry.Decision
	_, err := c.call(ctx, http.MethodGet, "/v1/decisions/"+url.PathEscape(id), nil, nil, &out)
	return &out, err
}

// EUAIActReport fetches the EU AI Act public summary for a model (model != "") or a mix, in the
// format accept names: "application/json", "text/markdown" or "text/html".
func (c *Client) EUAIActReport(ctx context.Context, model, mix, accept string) ([]byte, error) {
	v := url.Values{}
	if model != "" {
		v.Set("model", model)
	}
	if mix != "" {
		v.Set("mix", mix)
	}
	_, body, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/reports/eu-ai-act" + encode(v),
		Header: http.Header{"Accept": []string{accept}}})
	return body, err
}
