// Package policy compiles, checks and evaluates Pedigree's mix policies. It is the only package
// that imports OPA, and it imports only github.com/open-policy-agent/opa/v1/....
//
// A policy is one Rego v1 module in package pedigree.mix. It may define:
//
//   - limits: an object evaluated without input, which the mixer obeys while building
//     (max_synthetic_ratio, max_generation, min_human_samples, max_model_share, and any other keys).
//   - include: the per-sample admission rule over input.sample.<column> (see [Columns]) and the
//     top-level keys of the sample's metadata, input.sample.metadata.<key> (see "Metadata"). It
//     is partially evaluated once per version with OPA's v1/rego/compile package and translated
//     into a SQL WHERE fragment over the alias s, for SQLite and for PostgreSQL (see
//     [Policy.Where]).
//   - deny: a set of messages over input.mix, the summary of a proposed mix (see [Policy.Evaluate]).
//   - test_ rules: run with OPA's tester at every compile; a failing test refuses the module.
//
// # What is refused at upload
//
// Every refusal is a *registry.Error with code registry.EINVALID (registry.ETOOLARGE for a module
// over [MaxModuleBytes]); OPA's own messages, with file:line:column, are in its Fields:
//
//   - parse and compile errors; a package other than pedigree.mix;
//   - calls to built-ins that reach outside the process or are random: http.send,
//     net.lookup_ip_addr, opa.runtime, rand.intn, uuid.rfc4122, io.jwt.encode_sign,
//     io.jwt.encode_sign_raw, json.match_schema, json.verify_schema (they can load $ref schemas
//     from files or hosts), and any other built-in OPA marks non-deterministic except time.now_ns;
//   - time.now_ns anywhere include or limits depend on: those are compiled once per process,
//     without a mix's evaluation time (deny and tests may use it: deny sees the caller's time);
//   - limits that are not an object, that depend on input, or whose known keys have the wrong type
//     or range;
//   - an include OPA cannot translate into SQL for both dialects (its message is returned), one
//     that names a column not in [Columns], or one that compares a column with a value of another
//     type (a number with a text column, a string with a numeric column, any boolean);
//   - an include that reads metadata otherwise than described under "Metadata" (each refusal
//     names the ref as written and says why);
//   - a failing or erroring test_ rule (each is named).
//
// # Include and SQL
//
// The fragment follows SQL semantics, not Rego's, where the two differ on NULL: a comparison with
// a NULL column (model, toxicity) is never true, and neither is its negation, whereas Rego orders
// null below every number. Test for null explicitly (input.sample.toxicity != null) where it
// matters; the default policy does. Not translatable: arithmetic or any function on a column,
// string built-ins (startswith, endswith, contains: OPA's SQLite target has no translation),
// every, with, comprehensions over input.sample, "default include", nested refs such as
// input.sample.metadata.a.b.
//
// Numbers: OPA renders every number as a quoted string ('2'), which compares as text when the row
// source gives the column no numeric affinity ('10' < '9') and fails in PostgreSQL for a fraction
// against an integer column. This package therefore re-reads OPA's fragment with a strict parser
// for exactly the grammar OPA emits and writes it again: numeric columns get unquoted numeric
// literals, text columns get freshly escaped string literals, anything unexpected is refused.
//
// # Metadata
//
// include may read the top-level keys of the sample's metadata (a JSON object, stored as TEXT in
// the row source's column s.metadata, NULL when the sample has none) as
// input.sample.metadata.<key>, where the key matches [MetadataKeyPattern] and is written out
// literally (input.sample.metadata.lang or input.sample.metadata["lang"], in include or in a rule,
// function or import it uses). A key may only be compared with a string, number or boolean
// literal (==, !=, <, <=, >, >=; values from limits or other constants count as literals), or
// tested with "in" against a set or array of literals of one type, in any combination with the
// columns, not and several include rules. Each key is read as the type of the literals it is
// compared with, so one key is compared with literals of one type throughout include. Refused:
// nested keys (input.sample.metadata.a.b, ….tags[0]), the whole object, keys reached through a
// variable or computed (input.sample.metadata[k]), comparisons with null, a column, another key
// or a variable, a key used as a condition on its own (write input.sample.metadata.flag == true),
// and any function of a key.
//
// The NULL rule extends to metadata: a sample without metadata, without the key, with a JSON null
// there, or with a value of another JSON type than the literals (the string "9" against 9, the
// number 1 against true) is never admitted by a comparison with the key, nor by its negation:
// input.sample.metadata.lang != "en" and not input.sample.metadata.lang == "en" admit only
// samples whose lang is a string other than "en". Rego differs (an undefined key makes "not"
// true; it orders values of different types), and test_ rules, which run on the module as
// written, see Rego's semantics.
//
// Rendering (see metadataSQL for the exact text): the key becomes an escaped string literal —
// a JSON path '$."key"' in SQLite, E'key' in PostgreSQL — and a CASE expression yields the value
// only when it has the literal's JSON type, else NULL, so that no comparison raises an error:
//
//   - SQLite: json_type picks the type, json_extract(s.metadata, '$."key"') the value. Numbers
//     compare numerically (integers exactly, others as doubles); strings compare as text
//     (BINARY); booleans are read as 1 and 0 and compared with the literals 1 and 0 (JSON true
//     only, never the number 1). Metadata json_valid rejects reads as NULL.
//   - PostgreSQL: s.metadata::json (not jsonb, which would parse every number and escape of the
//     object) with json_typeof for the type and ->> for the value, cast to ::numeric (exact) or
//     ::boolean, or text under COLLATE "C" (code-point order, as in Rego). Guarded: metadata
//     holding a \u0000 escape or an unpaired surrogate escape anywhere (PostgreSQL cannot read
//     it as json text), and numbers longer than 1000 characters or with an exponent of 10000 or
//     more (beyond numeric), read as NULL. Metadata that is not JSON at all raises an error; the
//     registry stores only decoded JSON.
//
// The dialects then differ only on metadata no client should send: SQLite reads what PostgreSQL
// guards against, and for a key present twice SQLite reads the first value, PostgreSQL (and
// Rego) the last.
//
// A comparison with a key costs a JSON parse of the metadata per row and key (about 1.5 µs in
// SQLite, 5 µs in PostgreSQL, for 400-byte objects); no index serves it.
package policy
