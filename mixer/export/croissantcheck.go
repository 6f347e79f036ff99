package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// raiVocabulary is the Croissant RAI vocabulary (http://mlcommons.org/croissant/RAI/, version 1.0,
// as croissant_rai.ttl defines it and mlcroissant reads it). A description that uses another rai:
// term uses a name no Croissant reader knows.
var raiVocabulary = []string{
	"dataCollection", "dataCollectionType", "dataCollectionMissingData", "dataCollectionRawData",
	"dataCollectionTimeframe", "dataPreprocessingProtocol", "dataImputationProtocol", "dataManipulationProtocol",
	"dataReleaseMaintenancePlan", "personalSensitiveInformation", "dataAnnotationProtocol", "dataAnnotationPlatform",
	"dataAnnotationAnalysis", "annotationsPerItem", "annotatorDemographics", "machineAnnotationTools",
	"dataSocialImpact", "dataBiases", "dataLimitations", "dataUseCases",
}

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	curie     = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*):[^/]`)
)

// CheckCroissant checks a Croissant 1.1 description against what the specification requires of a
// dataset and what mlcroissant, the reference reader, refuses: the required dataset properties
// (@context, @type sc:Dataset, conformsTo naming Croissant 1.1, name, description, license, url,
// creator, datePublished), FileObjects with an @id, a contentUrl, an encodingFormat and a checksum,
// RecordSets whose fields have ids under their parent's, a data type or sub-fields, and a source
// that names a FileObject of the distribution; every prefix used is declared in the context, and
// every rai: property is one of the RAI vocabulary's. It returns every problem found.
func CheckCroissant(doc []byte) error {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	c := &croissantCheck{}
	c.dataset(d)
	return errors.Join(c.errs...)
}

type croissantCheck struct {
	errs    []error
	context map[string]any
	files   []string
	fields  []string
}

func (c *croissantCheck) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func (c *croissantCheck) dataset(d map[string]any) {
	ctx, ok := d["@context"].(map[string]any)
	if !ok {
		c.fail("@context: missing or not an object")
		ctx = map[string]any{}
	}
	c.context = ctx
	for _, term := range []string{"@vocab", "cr", "dct", "conformsTo", "recordSet", "field", "source", "extract", "fileObject", "dataType"} {
		if _, ok := ctx[term]; !ok {
			c.fail("@context: %s is not defined", term)
		}
	}
	if !hasValue(d["@type"], "sc:Dataset") {
		c.fail("@type: %v, want sc:Dataset", d["@type"])
	}
	if !hasValue(d["conformsTo"], Croissant11) {
		c.fail("conformsTo: %v does not name %s", d["conformsTo"], Croissant11)
	}
	for _, p := range []string{"name", "description", "url", "datePublished"} {
		if s, _ := d[p].(string); strings.TrimSpace(s) == "" {
			c.fail("%s: missing or empty", p)
		}
	}
	if u, _ := d["url"].(string); u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		c.fail("url: %q is not a URL", u)
	}
	if s, _ := d["datePublished"].(string); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				c.fail("datePublished: %q is not a date", s)
			}
		}
	}
	if empty(d["license"]) {
		c.fail("license: missing or empty")
	}
	if empty(d["creator"]) {
		c.fail("creator: missing or empty")
	}
	files, _ := d["distribution"].([]any)
	if len(files) == 0 {
		c.fail("distribution: missing or empty")
	}
	for i, f := range files {
		c.fileObject(i, f)
	}
	sets, _ := d["recordSet"].([]any)
	if len(sets) == 0 {
		c.fail("recordSet: missing or empty")
	}
	for i, rs := range sets {
		c.recordSet(i, rs)
	}
	c.prefixes("", d)
}

func (c *croissantCheck) fileObject(i int, v any) {
	f, ok := v.(map[string]any)
	if !ok {
		c.fail("distribution/%d: not an object", i)
		return
	}
	if !hasValue(f["@type"], "cr:FileObject") {
		c.fail("distribution/%d: @type %v, want cr:FileObject", i, f["@type"])
	}
	id, _ := f["@id"].(string)
	switch {
	case id == "":
		c.fail("distribution/%d: no @id", i)
	case slices.Contains(c.files, id):
		c.fail("distribution/%d: @id %q is not unique", i, id)
	}
	c.files = append(c.files, id)
	if s, _ := f["contentUrl"].(string); s == "" {
		c.fail("distribution/%d: no contentUrl", i)
	}
	if empty(f["encodingFormat"]) {
		c.fail("distribution/%d: no encodingFormat", i)
	}
	sha, _ := f["sha256"].(string)
	md5, _ := f["md5"].(string)
	if sha == "" && md5 == "" {
		c.fail("distribution/%d: neither sha256 nor md5", i)
	}
	if sha != "" && !hexSHA256.MatchString(sha) {
		c.fail("distribution/%d: sha256 %q is not 64 lower-case hex digits", i, sha)
	}
}

func (c *croissantCheck) recordSet(i int, v any) {
	rs, ok := v.(map[string]any)
	if !ok {
		c.fail("recordSet/%d: not an object", i)
		return
	}
	if !hasValue(rs["@type"], "cr:RecordSet") {
		c.fail("recordSet/%d: @type %v, want cr:RecordSet", i, rs["@type"])
	}
	id, _ := rs["@id"].(string)
	if id == "" {
		c.fail("recordSet/%d: no @id", i)
	}
	fields, _ := rs["field"].([]any)
	if len(fields) == 0 {
		c.fail("recordSet %s: no field", id)
	}
	for _, f := range fields {
		c.field(id, f)
	}
	if key, ok := rs["key"].(map[string]any); ok {
		if k, _ := key["@id"].(string); !slices.Contains(c.fields, k) {
			c.fail("recordSet %s: key %v is not one of its fields", id, key["@id"])
		}
	}
}

func (c *croissantCheck) field(parent string, v any) {
	f, ok := v.(map[string]any)
	if !ok {
		c.fail("%s: a field is not an object", parent)
		return
	}
	id, _ := f["@id"].(string)
	if !hasValue(f["@type"], "cr:Field") {
		c.fail("field %s: @type %v, want cr:Field", id, f["@type"])
	}
	if !strings.HasPrefix(id, parent+"/") {
		c.fail("field %q: its @id does not start with its parent's %q", id, parent+"/")
	}
	if slices.Contains(c.fields, id) {
		c.fail("field %s: @id is not unique", id)
	}
	c.fields = append(c.fields, id)
	if subs, ok := f["subField"].([]any); ok {
		if len(subs) == 0 {
			c.fail("field %s: empty subField", id)
		}
		for _, s := range subs {
			c.field(id, s)
		}
		return
	}
	if empty(f["dataType"]) {
		c.fail("field %s: no dataType", id)
	}
	if a, ok := f["isArray"]; ok {
		if _, isBool := a.(bool); !isBool {
			c.fail("field %s: isArray %v is not a boolean", id, a)
		}
	}
	if _, ok := f["value"]; ok {
		return
	}
	src, _ := f["source"].(map[string]any)
	fo, _ := src["fileObject"].(map[string]any)
	ref, _ := fo["@id"].(string)
	if !slices.Contains(c.files, ref) {
		c.fail("field %s: its source names FileObject %q, which is not in the distribution", id, ref)
	}
	ex, _ := src["extract"].(map[string]any)
	if empty(ex["column"]) && empty(ex["jsonPath"]) && empty(ex["fileProperty"]) {
		c.fail("field %s: its source extracts nothing (column, jsonPath or fileProperty)", id)
	}
}

// prefixes checks that every compact IRI used as a key or type is declared in the context, and
// that rai: properties are terms of the RAI vocabulary.
func (c *croissantCheck) prefixes(path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if path == "" && k == "@context" {
				continue
			}
			c.curie(path+"/"+k, k)
			if k == "@type" || k == "dataType" {
				for _, t := range strs(val) {
					c.curie(path+"/"+k, t)
				}
			}
			c.prefixes(path+"/"+k, val)
		}
	case []any:
		for i, e := range x {
			c.prefixes(fmt.Sprintf("%s/%d", path, i), e)
		}
	}
}

func (c *croissantCheck) curie(where, s string) {
	m := curie.FindStringSubmatch(s)
	if m == nil || m[1] == "http" || m[1] == "https" {
		return
	}
	if _, ok := c.context[m[1]]; !ok {
		c.fail("%s: the prefix %s: is not declared in @context", where, m[1])
	}
	if m[1] == "rai" && !slices.Contains(raiVocabulary, strings.TrimPrefix(s, "rai:")) {
		c.fail("%s: %s is not a term of the Croissant RAI vocabulary", where, s)
	}
}

func hasValue(v any, want string) bool { return slices.Contains(strs(v), want) }

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
