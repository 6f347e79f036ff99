package registry

import (
	"context"
	"encoding/json"
	"time"
)

// Roles of API keys. Admin may do everything; the others only what their routes allow.
const (
	RoleIngest  = "ingest"
	RoleAuditor = "auditor"
	RoleAdmin   = "admin"
)

// Roles lists the valid roles.
var Roles = []string{RoleIngest, RoleAuditor, RoleAdmin}

// APIKey is a stored API key. The secret itself is never stored: only its SHA-256.
type APIKey struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LogIndex  int64      `json:"log_index"` // the creation's log leaf

	// RevokedLogIndex is the revocation's log leaf, once revoked.
	RevokedLogIndex *int64 `json:"revoked_log_index,omitempty"`
	Hash            []byte `json:"-"`
	// LeafFields is the set of fields the key's creation leaf holds (see registry/leaves).
	LeafFields int `json:"-"`
}

// Idempotency identifies a write request by the client's Idempotency-Key, within the scope of the
// calling API key, and the SHA-256 of the request (method, path and body).
type Idempotency struct {
	Scope         string
	Key           string
	RequestSHA256 string
}

// IdempotentResult is what a store keeps of a completed idempotent write, enough to answer a replay:
// the ids of the records the first request returned, in order, and for samples whether each was a
// duplicate. Replays re-read those records.
type IdempotentResult struct {
	RequestSHA256 string    `json:"-"`
	IDs           []string  `json:"ids"`
	Duplicate     []bool    `json:"duplicate,omitempty"`
	LogIndex      int64     `json:"-"` // the record's log leaf
	CreatedAt     time.Time `json:"-"`
}

// IngestResult is one item of an ingest: the stored sample and whether it already existed.
type IngestResult struct {
	Sample    *Sample
	Duplicate bool
}

// InsertSamples asks a store to write a batch of fully built samples in one transaction.
type InsertSamples struct {
	Samples     []*Sample
	Idempotency *Idempotency // optional
	Near        NearRule     // how near-duplicates of model text are treated
	// Candidates are the stored model samples that share band keys with the samples, read before
	// the write (Store.NearCandidates).
	Candidates map[int64][]ModelText
}

// InsertedSamples is a store's answer: one result per requested sample, in order. Replayed is true when
// the idempotency key had already completed with the same request: Results are then those of the first
// request (re-read from the store), and nothing was written.
type InsertedSamples struct {
	Results  []IngestResult
	Replayed bool
}

// Resolution is what a store knows about the references of a batch before it is written.
type Resolution struct {
	Samples map[string]GenerationFact // parent or prompt id → its generation
	Models  map[string]*Model         // model id or name@version, as referenced → model
}

// SampleFilter selects samples for a listing. Zero values do not filter.
type SampleFilter struct {
	Origin        string
	ModelID       string
	Dataset       string
	PromptID      string
	MinGeneration *int
	MaxGeneration *int
	After         string // cursor: list ids greater than this
	Limit         int
}

// Lineage directions.
const (
	DirectionAncestors   = "ancestors"
	DirectionDescendants = "descendants"
	DirectionBoth        = "both"
)

// Lineage limits.
const (
	DefaultLineageDepth = 16
	MaxLineageDepth     = 64
	MaxLineageNodes     = 10000
)

// LineageNode is one sample of a lineage graph.
type LineageNode struct {
	ID         string `json:"id"`
	Origin     string `json:"origin"`
	Model      string `json:"model,omitempty"`
	Generation int    `json:"generation"`
	Depth      int    `json:"depth"` // distance from the root; negative for ancestors
}

// Edge kinds: the prompt a sample answers, and every other parent.
const (
	EdgeParent = "parent"
	EdgePrompt = "prompt"
)

// EdgeKind returns the kind of the edge from parent to child: a sample's edge to its prompt is a
// prompt edge, every other a parent edge. The kind is derived, never chosen, so that a stored kind
// can be checked against the logged prompt_id.
func EdgeKind(child *Sample, parent string) string {
	if parent == child.PromptID {
		return EdgePrompt
	}
	return EdgeParent
}

// CheckEdge returns an error wrapping ErrTampered when a stored edge's kind is not the one EdgeKind
// derives.
func CheckEdge(child *Sample, parent, kind string) error {
	if want := EdgeKind(child, parent); kind != want {
		return Tampered("the edge from %s to sample %s is stored as a %s edge; the logged prompt makes it a %s edge", parent, child.ID, kind, want)
	}
	return nil
}

// LineageEdge points from parent to child. Kind is "parent" or "prompt".
type LineageEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Lineage is a bounded lineage graph around a root sample.
type Lineage struct {
	Root      string        `json:"root"`
	Nodes     []LineageNode `json:"nodes"`
	Edges     []LineageEdge `json:"edges"`
	Truncated bool          `json:"truncated"`

	max  int             // the node cap, while a store builds the graph
	seen map[string]bool // node ids, while a store builds the graph
}

// Objectives of best-of-k ranking.
const (
	ObjectiveMTLD     = "mtld"
	ObjectiveLength   = "length"
	ObjectiveToxicity = "toxicity"
)

// Objectives lists the valid objectives.
var Objectives = []string{ObjectiveMTLD, ObjectiveLength, ObjectiveToxicity}

// Candidate is one member of a prompt's best-of-k group, ranked for an objective.
type Candidate struct {
	ID    string   `json:"id"`
	Model string   `json:"model,omitempty"`
	Score *float64 `json:"score"`
	Rank  int      `json:"rank"`
}

// Candidates is a prompt's group ranked for one objective, best first.
type Candidates struct {
	PromptID   string      `json:"prompt_id"`
	Objective  string      `json:"objective"`
	Model      string      `json:"model,omitempty"`
	Candidates []Candidate `json:"candidates"`
}

// Store persists the registry. Every method that writes does so in one transaction, with the log leaf
// of each record it creates. Errors carry codes:
//
//   - ENOTFOUND from the Get methods and Lineage/Candidates for an unknown id;
//
// Writes go through Write and the domain's functions over it (write.go), which state the rules.
type Store interface {
	Writer
	MixStore
	DisclosureStore
	RescoreStore
	// Resolve looks up the referenced samples and models; unknown ones are absent from the maps.
	Resolve(ctx context.Context, sampleIDs, modelRefs []string) (*Resolution, error)
	// LookupExternal finds the samples with these external ids; unknown ones are absent.
	LookupExternal(ctx context.Context, keys []ExternalKey) (map[ExternalKey]ExternalSample, error)
	// NearCandidates maps band keys to the stored model samples that have them, with their texts.
	NearCandidates(ctx context.Context, bands []int64) (map[int64][]ModelText, error)
	// Identities maps identity hashes to the ids of the stored samples that have them.
	Identities(ctx context.Context, identities []string) (map[string]string, error)
	GetSample(ctx context.Context, id string) (*Sample, error)
	// GetSamples reads stored samples with their parents (not their ranks); unknown ids are left out.
	GetSamples(ctx context.Context, ids []string) ([]*Sample, error)
	ListSamples(ctx context.Context, f SampleFilter) ([]*Sample, error)
	Lineage(ctx context.Context, id, direction string, maxDepth, maxNodes int) (*Lineage, error)
	Candidates(ctx context.Context, promptID, objective, modelID string) (*Candidates, error)

	// MixGenerations returns, for each of the given mixes that exists, the deepest generation and
	// weakest basis among its samples.
	MixGenerations(ctx context.Context, mixIDs []string) (map[string]GenerationFact, error)
	GetModel(ctx context.Context, ref string) (*Model, error) // by id or name@version
	ListModels(ctx context.Context, after string, limit int) ([]*Model, error)

	GetKey(ctx context.Context, id string) (*APIKey, error)
	ListKeys(ctx context.Context, after string, limit int) ([]*APIKey, error)
	CountKeys(ctx context.Context) (int, error)

	// Idempotent returns the completed result of an idempotent write, or nil.
	Idempotent(ctx context.Context, scope, key string) (*IdempotentResult, error)

	Ping(ctx context.Context) error
	Close() error
}

// NewLineage starts a lineage graph around root holding at most maxNodes nodes. Stores add the rows
// of their recursive walks with Add, then the edges among the nodes with AddEdge.
func NewLineage(root string, maxNodes int) *Lineage {
	return &Lineage{Root: root, Nodes: []LineageNode{}, Edges: []LineageEdge{}, max: maxNodes, seen: map[string]bool{}}
}

// Add adds a node found at depth n.Depth of a walk; sign is -1 for ancestors, 1 for descendants. A
// node already present is skipped (the root is in both walks); past the cap the graph is marked
// truncated.
func (l *Lineage) Add(n LineageNode, sign int) {
	if l.seen[n.ID] {
		return
	}
	if len(l.Nodes) >= l.max {
		l.Truncated = true
		return
	}
	l.seen[n.ID] = true
	n.Depth *= sign
	l.Nodes = append(l.Nodes, n)
}

// IDs returns the ids of the nodes added so far.
func (l *Lineage) IDs() []string {
	ids := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		ids[i] = n.ID
	}
	return ids
}

// AddEdge adds an edge whose child is in the graph, if its parent is too.
func (l *Lineage) AddEdge(e LineageEdge) {
	if l.seen[e.From] {
		l.Edges = append(l.Edges, e)
	}
}

// IdempotencyRecord is a stored idempotency record: the request it answered, its result, and the
// id of its log leaf (a digest of the scope and the key).
type IdempotencyRecord struct {
	Idempotency
	Result   IdempotentResult
	RecordID string
}

// NewIdempotencyRecord builds an IdempotencyRecord from a stored row; result is the stored JSON.
func NewIdempotencyRecord(recordID, scope, key, requestSHA256, result string, created time.Time, logIndex int64) (*IdempotencyRecord, error) {
	r := &IdempotencyRecord{Idempotency: Idempotency{Scope: scope, Key: key, RequestSHA256: requestSHA256}, RecordID: recordID}
	if err := json.Unmarshal([]byte(result), &r.Result); err != nil {
		return nil, Tampered("the idempotency record at log index %d is not valid JSON", logIndex)
	}
	r.Result.RequestSHA256, r.Result.CreatedAt, r.Result.LogIndex = requestSHA256, created, logIndex
	return r, nil
}
