package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CroissantContentType is the media type of a Croissant description: JSON-LD with the Croissant 1.1
// profile.
const CroissantContentType = `application/ld+json; profile="http://mlcommons.org/croissant/1.1"`

// The specifications a description conforms to: Croissant 1.1 and its Responsible AI vocabulary.
const (
	Croissant11  = "http://mlcommons.org/croissant/1.1"
	CroissantRAI = "http://mlcommons.org/croissant/RAI/1.0"
)

// The ids of the description's FileObjects: a reader that downloads the exports itself maps these
// to its files (mlcroissant.Dataset(jsonld=…, mapping={"mix.jsonl": path})).
const (
	FileIDJSONL   = "mix.jsonl"
	FileIDParquet = "mix.parquet"
	recordSetID   = "samples"
)

// The encodingFormat of each FileObject: the media types mlcroissant reads records from (it reads
// JSON Lines as "application/jsonlines" and Parquet as "application/x-parquet"; the registry serves
// them as application/jsonl and application/vnd.apache.parquet).
var croissantEncoding = map[string]string{FormatJSONL: "application/jsonlines", FormatParquet: "application/x-parquet"}

// obj is a JSON object that keeps its keys in the order given, so that the description reads top
// down (context, what the dataset is, its provenance, its files, its records).
type obj []kv

type kv struct {
	k string
	v any
}

// MarshalJSON implements json.Marshaler.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoEscape(p.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.k, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// croissantContext is the JSON-LD context of Croissant 1.1 (the specification's Appendix 1), with
// the PROV-O namespace that the provenance links use.
func croissantContext() obj {
	return obj{
		{"@language", "en"},
		{"@vocab", "http://schema.org/"},
		{"sc", "http://schema.org/"},
		{"cr", "http://mlcommons.org/croissant/"},
		{"rai", "http://mlcommons.org/croissant/RAI/"},
		{"dct", "http://purl.org/dc/terms/"},
		{"prov", "http://www.w3.org/ns/prov#"},
		{"annotation", "cr:annotation"},
		{"arrayShape", "cr:arrayShape"},
		{"citeAs", "cr:citeAs"},
		{"column", "cr:column"},
		{"conformsTo", "dct:conformsTo"},
		{"containedIn", "cr:containedIn"},
		{"data", obj{{"@id", "cr:data"}, {"@type", "@json"}}},
		{"dataType", obj{{"@id", "cr:dataType"}, {"@type", "@vocab"}}},
		{"equivalentProperty", "cr:equivalentProperty"},
		{"examples", obj{{"@id", "cr:examples"}, {"@type", "@json"}}},
		{"excludes", "cr:excludes"},
		{"extract", "cr:extract"},
		{"field", "cr:field"},
		{"fileProperty", "cr:fileProperty"},
		{"fileObject", "cr:fileObject"},
		{"fileSet", "cr:fileSet"},
		{"format", "cr:format"},
		{"includes", "cr:includes"},
		{"isArray", "cr:isArray"},
		{"isLiveDataset", "cr:isLiveDataset"},
		{"jsonPath", "cr:jsonPath"},
		{"key", "cr:key"},
		{"md5", "cr:md5"},
		{"parentField", "cr:parentField"},
		{"recordSet", "cr:recordSet"},
		{"references", "cr:references"},
		{"regex", "cr:regex"},
		{"readLines", "cr:readLines"},
		{"sdVersion", "cr:sdVersion"},
		{"separator", "cr:separator"},
		{"source", "cr:source"},
		{"subField", "cr:subField"},
		{"transform", "cr:transform"},
		{"unArchive", "cr:unArchive"},
		{"value", "cr:value"},
	}
}

// column describes one column of the jsonl export as a Croissant field.
type column struct {
	name, dataType, description string
	array                       bool
	sub                         []column
}

// Columns are the columns of the jsonl and parquet exports, in the exports' order, as the
// description's record set declares them.
var columns = []column{
	{name: "id", dataType: "sc:Text", description: "The sample's id (a UUIDv7 the registry assigned)."},
	{name: "external_id", dataType: "sc:Text", description: "The pipeline's own id of the sample, unique within its dataset; null if none was given."},
	{name: "origin", dataType: "sc:Text", description: "human or model."},
	{name: "model", dataType: "sc:Text", description: "The generating model as name@version; null for human text."},
	{name: "generation", dataType: "sc:Integer", description: "How many model passes separate the text from human writing."},
	{name: "generation_basis", dataType: "sc:Text", description: "What the generation rests on: human, mixes (registry-derived model generations) or declared."},
	{name: "dataset", dataType: "sc:Text", description: "The collection the sample arrived in; null if none."},
	{name: "source", description: "Where the sample was obtained and under which licence.", sub: []column{
		{name: "kind", dataType: "sc:Text", description: "public_dataset, licensed, private, web_crawl, user_data, synthetic or other."},
		{name: "name", dataType: "sc:Text", description: "The source's name; null if none."},
		{name: "uri", dataType: "sc:URL", description: "The source's URI; null if none."},
		{name: "license", dataType: "sc:Text", description: "The licence as an SPDX expression; null if none was recorded."},
	}},
	{name: "parents", dataType: "sc:Text", array: true, description: "Ids of the samples this one was derived from (its prompt included)."},
	{name: "prompt_id", dataType: "sc:Text", description: "The prompt sample this one answers; null if none."},
	{name: "metrics", description: "Scores computed by the registry at ingest.", sub: []column{
		{name: "tokens", dataType: "sc:Integer", description: "Word tokens."},
		{name: "mtld", dataType: "sc:Float", description: "Measure of Textual Lexical Diversity (McCarthy and Jarvis, 2010)."},
		{name: "toxicity", dataType: "sc:Float", description: "Toxicity probability in [0, 1]; null if the scorer was unavailable."},
		{name: "metrics_version", dataType: "sc:Text", description: "Version of the tokenizer and metrics."},
		{name: "toxicity_scorer", dataType: "sc:Text", description: "The scorer that computed toxicity."},
	}},
	{name: "collected_at", dataType: "sc:DateTime", description: "When the text was collected, as its registrant stated it (RFC 3339, UTC); null if unknown."},
	{name: "text", dataType: "sc:Text", description: "The sample's text (UTF-8)."},
}

// ColumnNames returns the top-level column names of the jsonl export, in order.
func ColumnNames() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.name
	}
	return out
}

func (c column) field(parent string, path []string) obj {
	id := parent + "/" + c.name
	f := obj{{"@type", "cr:Field"}, {"@id", id}, {"name", c.name}, {"description", c.description}}
	if len(c.sub) > 0 {
		var subs []obj
		for _, s := range c.sub {
			subs = append(subs, s.field(id, append(slices.Clone(path), c.name)))
		}
		return append(f, kv{"subField", subs})
	}
	f = append(f, kv{"dataType", c.dataType})
	if c.array {
		f = append(f, kv{"isArray", true})
	}
	src := obj{{"fileObject", obj{{"@id", FileIDJSONL}}}}
	if len(path) == 0 {
		src = append(src, kv{"extract", obj{{"column", c.name}}})
	} else {
		// A nested value: the top-level column, then the path inside it.
		src = append(src, kv{"extract", obj{{"column", path[0]}}})
		var transforms []obj
		for _, p := range append(path[1:], c.name) {
			transforms = append(transforms, obj{{"jsonPath", p}})
		}
		if len(transforms) == 1 {
			src = append(src, kv{"transform", transforms[0]})
		} else {
			src = append(src, kv{"transform", transforms})
		}
	}
	return append(f, kv{"source", src})
}

var spdxID = regexp.MustCompile(`^[A-Za-z0-9.+-]+$`)

// Croissant returns the mix's Croissant 1.1 description (JSON-LD): what the dataset is, its
// licences, the Responsible AI fields that the registry can state, PROV-O links to the datasets and
// sources the samples were derived from and to the models that generated them, the jsonl and
// parquet downloads with their SHA-256 (from d.Files), and a record set whose fields are the jsonl
// export's columns.
func Croissant(d *Description) ([]byte, error) {
	v, err := newCardView(d)
	if err != nil {
		return nil, err
	}
	m := d.Mix
	for _, f := range []string{FormatJSONL, FormatParquet} {
		if dg, ok := d.Files[f]; !ok || len(dg.SHA256) != 64 {
			return nil, fmt.Errorf("export: croissant: the %s download's SHA-256 is missing", f)
		}
	}
	doc := obj{
		{"@context", croissantContext()},
		{"@type", "sc:Dataset"},
		{"conformsTo", []string{Croissant11, CroissantRAI}},
		{"name", "pedigree-mix-" + m.ID},
		{"description", croissantDescription(v)},
		{"url", d.URL("")},
		{"license", croissantLicenses(v.Licenses)},
		{"creator", obj{{"@type", "sc:Organization"}, {"name", "Pedigree registry"}, {"url", strings.TrimSuffix(d.BaseURL, "/")}}},
		{"datePublished", m.CreatedAt.UTC().Format(time.RFC3339)},
		{"version", "1.0.0"},
		{"isLiveDataset", false},
		{"citeAs", fmt.Sprintf("@misc{pedigree_mix_%s, title = {Pedigree mix %s}, howpublished = {%s}, note = {manifest SHA-256 %s, log index %d}, year = {%d}}",
			strings.ReplaceAll(m.ID, "-", ""), m.ID, d.URL(""), m.ManifestSHA256, m.LogIndex, m.CreatedAt.UTC().Year())},
		{"keywords", v.Tags},
	}
	doc = append(doc, raiFields(v)...)
	doc = append(doc,
		kv{"prov:wasDerivedFrom", derivedFrom(v)},
		kv{"prov:wasGeneratedBy", generatedBy(v)},
		kv{"distribution", []obj{
			fileObject(d, FormatJSONL, FileIDJSONL, "The mix as JSON Lines, one sample a line, in manifest order."),
			append(fileObject(d, FormatParquet, FileIDParquet, "The mix as Parquet, the same columns typed, in manifest order."),
				kv{"sameAs", d.ExportURL(FormatJSONL)}),
		}},
		kv{"recordSet", []obj{recordSet()}},
	)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: croissant: %w", err)
	}
	return append(b, '\n'), nil
}

func fileObject(d *Description, format, id, description string) obj {
	dg := d.Files[format]
	return obj{{"@type", "cr:FileObject"}, {"@id", id}, {"name", FileName(d.Mix.ID, format)}, {"description", description},
		{"contentUrl", d.ExportURL(format)}, {"contentSize", strconv.FormatInt(dg.Size, 10) + " B"},
		{"encodingFormat", croissantEncoding[format]}, {"sha256", dg.SHA256}}
}

func recordSet() obj {
	var fields []obj
	for _, c := range columns {
		fields = append(fields, c.field(recordSetID, nil))
	}
	return obj{{"@type", "cr:RecordSet"}, {"@id", recordSetID}, {"name", recordSetID},
		{"description", "One record per sample of the mix, in manifest order."},
		{"key", obj{{"@id", recordSetID + "/id"}}}, {"field", fields}}
}

// croissantLicenses returns the mix's licences: the SPDX page of each listed licence identifier, a
// CreativeWork naming an expression or a LicenseRef- licence, and one for the samples that record
// none.
func croissantLicenses(l licensing) []any {
	var out []any
	for _, c := range l.SPDX {
		if spdxID.MatchString(c.Name) && !strings.HasPrefix(strings.ToLower(c.Name), "licenseref-") {
			out = append(out, "https://spdx.org/licenses/"+c.Name+".html")
		} else {
			out = append(out, obj{{"@type", "sc:CreativeWork"}, {"name", c.Name}})
		}
	}
	if l.Unrecorded > 0 {
		out = append(out, obj{{"@type", "sc:CreativeWork"}, {"name", "no licence recorded"},
			{"description", fmt.Sprintf("%d samples of the mix record no licence.", l.Unrecorded)}})
	}
	return out
}

func croissantDescription(v *cardView) string {
	m := v.M
	s := fmt.Sprintf("A training mix of %d samples drawn by the Pedigree provenance registry under the policy %s@%d: %d human-written and %d model-generated",
		m.Size, m.Policy.Name, m.Policy.Version, m.Stats.Human, m.Stats.Synthetic)
	if len(v.Models) > 0 {
		var refs []string
		for _, md := range v.Models {
			refs = append(refs, md.Ref)
		}
		s += " (by " + strings.Join(refs, ", ") + ")"
	}
	return s + fmt.Sprintf(", deepest generation %d. Each record carries the sample's origin, model, generation, dataset, source and licence, parents, prompt and ingest metrics. The manifest's SHA-256 is %s, logged at index %d of the registry's tamper-evident log.",
		m.Stats.MaxGeneration, m.ManifestSHA256, m.LogIndex)
}

// collectionTypes maps source kinds to the collection types the RAI vocabulary recommends.
var collectionTypes = map[string]string{
	"public_dataset": "Secondary Data analysis", "licensed": "Secondary Data analysis", "private": "Secondary Data analysis",
	"web_crawl": "Web Scraping", "user_data": "User-generated content data", "synthetic": "Others", "other": "Others",
}

// raiFields returns the Responsible AI properties (http://mlcommons.org/croissant/RAI/) the registry
// can state from its records. Properties it knows nothing about (annotator demographics, personal
// information, …) are left out rather than guessed.
func raiFields(v *cardView) []kv {
	m := v.M
	var types []string
	for _, k := range v.SourceKinds {
		if t := collectionTypes[k.Name]; t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	collection := fmt.Sprintf("Samples registered in the Pedigree registry with their provenance (origin, generating model, parents, prompt, dataset, source, licence), %d admitted by the policy %s@%d and %d of them drawn by the %s strategy with seed %d.",
		m.Stats.Pool, m.Policy.Name, m.Policy.Version, m.Size, v.Strategy, m.Seed)
	if m.Stats.Synthetic > 0 {
		collection += fmt.Sprintf(" %d samples (%s) are model-generated: synthetic data, written by the models listed in prov:wasGeneratedBy.",
			m.Stats.Synthetic, percent(m.Stats.Synthetic, m.Size))
	}
	var raw []string
	for _, s := range v.Sources {
		line := fmt.Sprintf("%s: %s (%d samples)", s.Kind, s.Name, s.Samples)
		if s.Name == "" {
			line = fmt.Sprintf("%s (%d samples)", s.Kind, s.Samples)
		}
		if s.URI != "" {
			line += ", " + s.URI
		}
		raw = append(raw, line)
	}
	fields := []kv{
		{"rai:dataCollection", collection},
		{"rai:dataCollectionType", types},
	}
	if len(raw) > 0 {
		fields = append(fields, kv{"rai:dataCollectionRawData", strings.Join(raw, "; ")})
	}
	fields = append(fields,
		kv{"rai:dataPreprocessingProtocol", []string{
			"Each text is stored as received (UTF-8) with its SHA-256; re-sent identical samples are stored once, and text registered as model output cannot be registered again as human.",
			fmt.Sprintf("The policy %s@%d (SHA-256 %s) admitted samples inside the database with its include rule and the limits %s; the mixer drew from the admitted pool by seed within those limits, and the policy's deny rules allowed the result (decision %s).",
				m.Policy.Name, m.Policy.Version, m.Policy.SHA256, v.Limits, v.D.Decision.ID),
		}},
		kv{"rai:dataAnnotationProtocol", []string{
			"No human labels. The registry computed each sample's metrics at ingest: word tokens, MTLD lexical diversity and a toxicity probability; each record names the metrics version and the toxicity scorer."}},
		kv{"rai:machineAnnotationTools", []string{"Pedigree ingest metrics (tokenizer, MTLD; metrics.metrics_version)", "toxicity scorer named in metrics.toxicity_scorer"}},
		kv{"rai:dataUseCases", []string{"Training: language-model pre-training or fine-tuning; the chat export serves supervised fine-tuning."}},
		kv{"rai:dataLimitations", []string{
			"MTLD is unreliable for texts under about 50 tokens.",
			"The registry records no language for its samples.",
			fmt.Sprintf("The mix holds %d of the %d samples the policy admitted; it represents the registry's contents only as the policy and the seed selected them.", m.Size, m.Stats.Pool),
		}},
	)
	if m.Stats.Synthetic > 0 {
		fields = append(fields,
			kv{"rai:dataBiases", []string{"Model-generated samples carry the biases of the models that wrote them (prov:wasGeneratedBy); the registry does not measure bias."}},
			kv{"rai:dataSocialImpact", fmt.Sprintf("Training on model output narrows a model's distribution over generations (model collapse); this mix's synthetic share is %s and its deepest generation %d, within the limits of its policy.",
				percent(m.Stats.Synthetic, m.Size), m.Stats.MaxGeneration)},
		)
	}
	return append(fields, kv{"rai:dataReleaseMaintenancePlan", fmt.Sprintf("The mix is immutable: its manifest SHA-256 %s is in the registry's tamper-evident log (index %d); any change is a new mix with a new id.",
		m.ManifestSHA256, m.LogIndex)})
}

// derivedFrom names the datasets and sources the samples come from (model output is linked to its
// models by generatedBy instead).
func derivedFrom(v *cardView) []obj {
	var out []obj
	for _, ds := range v.Datasets {
		out = append(out, obj{{"@type", "prov:Entity"}, {"name", ds.Name},
			{"description", fmt.Sprintf("Registry dataset %s: %d samples of the mix.", ds.Name, ds.Count)}})
	}
	for _, s := range v.Sources {
		if s.Kind == "synthetic" {
			continue
		}
		e := obj{{"@type", "prov:Entity"}, {"name", s.Name}, {"additionalType", s.Kind},
			{"description", fmt.Sprintf("Source (%s): %d samples of the mix.", s.Kind, s.Samples)}}
		if s.Name == "" {
			e[1].v = s.Kind
		}
		if s.URI != "" {
			e = append(e, kv{"url", s.URI})
		}
		out = append(out, e)
	}
	if out == nil {
		out = []obj{}
	}
	return out
}

// generatedBy names the activities that generated the mix: the text generation by each model whose
// samples are in it, and the mix's selection by the registry under its policy.
func generatedBy(v *cardView) []obj {
	var out []obj
	for _, md := range v.Models {
		trained := "trained outside the registry"
		if len(md.TrainedOn) > 0 {
			trained = "trained on mixes " + strings.Join(md.TrainedOn, ", ")
		}
		agent := obj{{"@type", "prov:SoftwareAgent"}, {"name", md.Ref},
			{"description", fmt.Sprintf("Model generation %d (%s), %s.", md.Generation, md.GenerationBasis, trained)}}
		if md.Provider != "" {
			agent = append(agent, kv{"provider", md.Provider})
		}
		out = append(out, obj{{"@type", "prov:Activity"}, {"prov:label", "text generation by " + md.Ref},
			{"description", fmt.Sprintf("%d samples of the mix.", md.Samples)}, {"prov:wasAssociatedWith", agent}})
	}
	m := v.M
	return append(out, obj{{"@type", "prov:Activity"},
		{"prov:label", fmt.Sprintf("mix selection under policy %s@%d", m.Policy.Name, m.Policy.Version)},
		{"prov:endedAtTime", m.CreatedAt.UTC().Format(time.RFC3339)},
		{"prov:wasAssociatedWith", obj{{"@type", "prov:SoftwareAgent"}, {"name", "Pedigree mixer"}}},
		{"description", fmt.Sprintf("Decision %s; manifest SHA-256 %s.", v.D.Decision.ID, m.ManifestSHA256)}})
}
