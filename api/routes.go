package api

import (
	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// routes lists the whole API. It mirrors openapi.yaml one to one; a test checks that every route here
// is in the spec.
func (s *Server) routes(reg *prometheus.Registry) {
	e := s.echo
	const (
		ingest  = registry.RoleIngest
		auditor = registry.RoleAuditor
		admin   = registry.RoleAdmin
	)
	// The per-key rate limits (ratelimit.go), after allow has found the key.
	write, expensive := s.limit(ClassWrite), s.limit(ClassExpensive)

	// Operations: no key.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", metricsHandler(reg))
	e.GET("/openapi.yaml", s.openapi)

	// The console: static pages that call the API below with the key the user signs in with.
	e.GET("/", s.toConsole)
	e.GET("/ui", s.toConsole)
	e.GET("/ui/", s.consoleAsset)
	e.GET("/ui/*", s.consoleAsset)

	v1 := e.Group("/v1")
	v1.GET("/whoami", s.whoami, s.allow(ingest, auditor))
	v1.POST("/samples", s.createSample, s.allow(ingest), write)
	v1.POST("/samples/batch", s.createSampleBatch, s.allow(ingest), write)
	v1.POST("/samples/lookup", s.lookupSamples, s.allow(ingest, auditor))
	v1.GET("/samples", s.listSamples, s.allow(auditor))
	v1.GET("/samples/:id", s.getSample, s.allow(auditor))
	v1.GET("/samples/:id/lineage", s.getLineage, s.allow(auditor), expensive)
	v1.GET("/prompts/:id/candidates", s.getCandidates, s.allow(auditor))

	v1.POST("/models", s.createModel, s.allow(ingest), write)
	v1.GET("/models", s.listModels, s.allow(auditor))
	v1.GET("/models/:id", s.getModel, s.allow(auditor))
	v1.GET("/models/:id/openlineage", s.modelOpenLineage, s.allow(auditor))
	v1.PUT("/models/:id/disclosure", s.putDisclosure, s.allow(ingest), write)
	v1.GET("/models/:id/disclosure", s.getDisclosure, s.allow(auditor))
	v1.GET("/models/:id/disclosure/versions/:version", s.getDisclosureVersion, s.allow(auditor))

	v1.PUT("/policies/:name", s.putPolicy, s.allow(admin), write)
	v1.GET("/policies", s.listPolicies, s.allow(auditor))
	v1.GET("/policies/:name", s.getPolicy, s.allow(auditor))
	v1.GET("/policies/:name/versions/:version", s.getPolicyVersion, s.allow(auditor))

	v1.POST("/mixes", s.createMix, s.allow(ingest), expensive)
	v1.POST(`/mixes\:dry-run`, s.dryRunMix, s.allow(ingest), expensive) // the colon is part of the path, not a parameter
	v1.GET("/mixes", s.listMixes, s.allow(auditor))
	v1.GET("/mixes/:id", s.getMix, s.allow(auditor))
	v1.GET("/mixes/:id/samples", s.exportMixAs, s.allow(ingest, auditor), expensive) // the export's first path, kept for clients that use it
	v1.GET("/mixes/:id/export", s.exportMixAs, s.allow(ingest, auditor), expensive)
	v1.GET("/mixes/:id/card", s.mixCard, s.allow(ingest, auditor), expensive)
	v1.GET("/mixes/:id/croissant", s.mixCroissant, s.allow(ingest, auditor), expensive)
	v1.GET("/mixes/:id/lineage", s.mixLineage, s.allow(auditor), expensive)
	v1.GET("/mixes/:id/openlineage", s.mixOpenLineage, s.allow(auditor))
	v1.GET("/decisions", s.listDecisions, s.allow(auditor))
	v1.GET("/decisions/:id", s.getDecision, s.allow(auditor))
	v1.GET("/decisions/:id/openlineage", s.decisionOpenLineage, s.allow(auditor))

	v1.GET("/reports/eu-ai-act", s.euAIActReport, s.allow(auditor), expensive)
	v1.GET("/reports/eu-ai-act/completeness", s.euAIActCompleteness, s.allow(auditor), expensive)

	v1.GET("/log/checkpoint", s.getCheckpoint, s.allow(auditor))
	v1.GET("/log/key", s.getLogKey, s.allow(auditor))
	v1.GET("/log/entries/:index", s.getLogEntry, s.allow(auditor))
	v1.GET("/log/proof/inclusion", s.getInclusionProof, s.allow(auditor))
	v1.GET("/log/proof/consistency", s.getConsistencyProof, s.allow(auditor))

	v1.POST("/keys", s.createKey, s.allow(admin), write)
	v1.GET("/keys", s.listKeys, s.allow(admin))
	v1.DELETE("/keys/:id", s.revokeKey, s.allow(admin), write)

	v1.POST("/admin/rescore", s.rescore, s.allow(admin), write)
}
