package main

import (
	"context"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// TestAuditRefusals covers the refusals of the log, policy, mix, decision and report routes; every
// answer is also checked against openapi.yaml by the test client.
func TestAuditRefusals(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	auditor, ingest := srv.Key(registry.RoleAuditor), srv.Key(registry.RoleIngest)
	missing := "01900000-0000-7000-8000-000000000000"
	cases := []struct {
		name, key, method, path string
		body                    []byte
		status                  int
		code                    string
	}{
		{"EntryBeyondLog", auditor, "GET", "/v1/log/entries/999999", nil, 404, "not_found"},
		{"EntryNotANumber", auditor, "GET", "/v1/log/entries/x", nil, 400, "invalid"},
		{"InclusionMissingSize", auditor, "GET", "/v1/log/proof/inclusion?index=0", nil, 400, "invalid"},
		{"InclusionIndexNotBelowSize", auditor, "GET", "/v1/log/proof/inclusion?index=2&size=2", nil, 400, "invalid"},
		{"InclusionSizeBeyondLog", auditor, "GET", "/v1/log/proof/inclusion?index=0&size=999999", nil, 404, "not_found"},
		{"ConsistencyBackwards", auditor, "GET", "/v1/log/proof/consistency?from=2&to=1", nil, 400, "invalid"},
		{"ConsistencyUnknownParameter", auditor, "GET", "/v1/log/proof/consistency?from=1&to=2&x=1", nil, 400, "invalid"},
		{"CheckpointNeedsAKey", "", "GET", "/v1/log/checkpoint", nil, 401, "unauthorized"},
		{"CheckpointNotForIngest", ingest, "GET", "/v1/log/checkpoint", nil, 403, "forbidden"},
		{"UnknownPolicy", auditor, "GET", "/v1/policies/nope", nil, 404, "not_found"},
		{"UnknownPolicyVersion", auditor, "GET", "/v1/policies/default/versions/99", nil, 404, "not_found"},
		{"PolicyVersionNotANumber", auditor, "GET", "/v1/policies/default/versions/latest", nil, 400, "invalid"},
		{"BadPolicyName", srv.AdminKey, "PUT", "/v1/policies/Bad%20Name", []byte("package pedigree.mix\n"), 400, "invalid"},
		{"PolicyTooLarge", srv.AdminKey, "PUT", "/v1/policies/big", make([]byte, 200<<10), 413, "too_large"},
		{"UnknownMix", auditor, "GET", "/v1/mixes/" + missing, nil, 404, "not_found"},
		{"UnknownMixExport", auditor, "GET", "/v1/mixes/" + missing + "/samples", nil, 404, "not_found"},
		{"UnknownMixLineage", auditor, "GET", "/v1/mixes/" + missing + "/lineage", nil, 404, "not_found"},
		{"UnknownDecision", auditor, "GET", "/v1/decisions/" + missing, nil, 404, "not_found"},
		{"MixUnknownField", ingest, "POST", "/v1/mixes", []byte(`{"size":10,"colour":"red"}`), 400, "invalid"},
		{"MixBadDryRun", ingest, "POST", "/v1/mixes?dry_run=maybe", []byte(`{"size":10}`), 400, "invalid"},
		{"MixBadPolicyRef", ingest, "POST", "/v1/mixes", []byte(`{"size":10,"policy":"default@x"}`), 400, "invalid"},
		{"MixRatioOutOfRange", ingest, "POST", "/v1/mixes", []byte(`{"size":10,"synthetic_ratio":1.5}`), 400, "invalid"},
		{"MixMinAboveSize", ingest, "POST", "/v1/mixes", []byte(`{"size":10,"min_size":11}`), 400, "invalid"},
		{"MixByAuditor", auditor, "POST", "/v1/mixes", []byte(`{"size":10}`), 403, "forbidden"},
		{"ReportBothSubjects", auditor, "GET", "/v1/reports/eu-ai-act?model=a@1&mix=" + missing, nil, 400, "invalid"},
		{"ReportUnknownMix", auditor, "GET", "/v1/reports/eu-ai-act?mix=" + missing, nil, 404, "not_found"},
		{"ReportUnknownModel", auditor, "GET", "/v1/reports/eu-ai-act?model=ghost@1", nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctype := "" // JSON
			if tc.method == "PUT" {
				ctype = "text/plain" // a policy module
			}
			_, _, err := srv.Client(tc.key).Do(ctx, client.Request{Method: tc.method, Path: tc.path, Body: tc.body, ContentType: ctype})
			p := problemOf(t, err)
			if p.Status != tc.status || p.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", p.Status, p.Code, p.Detail, tc.status, tc.code)
			}
		})
	}
}
