// Package policy compiles, checks and evaluates Pedigree's mix policies. It is the only package
// that imports OPA, and it imports only github.com/open-policy-agent/opa/v1/....
//
// A policy is one Rego v1 module in package pedigree.mix. It may define:
//
//   - limits: an object evaluated without input, which the mixer obeys while building
//     (max_synthetic_ratio, max_generation, min_human_samples, max_model_share, and any other keys).
//   - include: the per-sample admission rule over input.sample.<column> (see [Columns]). It is
//     partially evaluated once per version with OPA's v1/rego/compile package and translated into a
//     SQL WHERE fragment over the alias s, for SQLite and for PostgreSQL (see [Policy.Where]).
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
// input.sample.metadata.key.
//
// Numbers: OPA renders every number as a quoted string ('2'), which compares as text when the row
// source gives the column no numeric affinity ('10' < '9') and fails in PostgreSQL for a fraction
// against an integer column. This package therefore re-reads OPA's fragment with a strict parser
// for exactly the grammar OPA emits and writes it again: numeric columns get unquoted numeric
// literals, text columns get freshly escaped string literals, anything unexpected is refused.
package policy
