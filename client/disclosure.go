package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pedigreeml/pedigree/registry"
)

// Disclosure is a version of a model's disclosure, with the list of every version.
type Disclosure struct {
	registry.Disclosure
	Versions []registry.DisclosureVersion `json:"versions"`
}

// Completeness is what a model's EU AI Act public summary still lacks.
type Completeness struct {
	Model             string `json:"model"`
	ModelID           string `json:"model_id"`
	DisclosureVersion *int   `json:"disclosure_version"`
	Publishable       bool   `json:"publishable"`
	Missing           []struct {
		Section string `json:"section"`
		Field   string `json:"field"`
		Fill    string `json:"fill"`
	} `json:"missing"`
}

// PutDisclosure states a model's disclosure (model by id or name@version). created is false when it
// equals the latest version, which is returned.
func (c *Client) PutDisclosure(ctx context.Context, model string, d registry.NewDisclosure) (out *Disclosure, created bool, err error) {
	body, err := json.Marshal(d)
	if err != nil {
		return nil, false, err
	}
	status, resp, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/v1/models/" + url.PathEscape(model) + "/disclosure",
		Body: body, ContentType: "application/json"})
	if err != nil {
		return nil, false, err
	}
	out = &Disclosure{}
	if err := json.Unmarshal(resp, out); err != nil {
		return nil, false, err
	}
	return out, status == http.StatusCreated, nil
}

// GetDisclosure reads a version of a model's disclosure; version 0 is the latest.
func (c *Client) GetDisclosure(ctx context.Context, model string, version int) (*Disclosure, error) {
	path := "/v1/models/" + url.PathEscape(model) + "/disclosure"
	if version > 0 {
		path += "/versions/" + strconv.Itoa(version)
	}
	var out Disclosure
	_, err := c.call(ctx, http.MethodGet, path, nil, nil, &out)
	return &out, err
}

// EUAIActCompleteness checks what a model's public summary still lacks.
func (c *Client) EUAIActCompleteness(ctx context.Context, model string) (*Completeness, error) {
	var out Completeness
	_, err := c.call(ctx, http.MethodGet, "/v1/reports/eu-ai-act/completeness"+encode(url.Values{"model": {model}}), nil, nil, &out)
	return &out, err
}
