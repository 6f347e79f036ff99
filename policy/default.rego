# Pedigree's default mix policy, used when a mix request names no policy.
#
# Every number is tied to a published result (README, "The default policy", has the table).
# The mixer obeys `limits` while it builds a mix, `include` runs inside the database as a SQL
# WHERE clause, and `deny` checks the finished mix summary again, so that a mix that breaks a
# limit is refused with a message that says which and by how much.
package pedigree.mix

limits := {
	# Bertrand et al. 2024, "On the Stability of Iterative Retraining of Generative Models on their
	# own Data" (ICLR 2024): retraining on a model's own output stays stable only while the real
	# data keeps a large enough share; in practice, synthetic shares of up to about one half.
	# Gerstgrasser et al. 2024, "Is Model Collapse Inevitable?": accumulate synthetic data next to
	# the real data, never replace it. A cap of 0.5 keeps every mix at least half human.
	"max_synthetic_ratio": 0.5,
	# Shumailov et al. 2024, "AI models collapse when trained on recursively generated data"
	# (Nature 631): the tails of the distribution vanish first, and the loss compounds with each
	# generation trained on generated data. Generation 1 is the output of a model trained on
	# human text; 2 allows one more pass (a rewrite of a rewrite, or the output of a model trained
	# on a registry mix). Deeper lineages are where the paper's degradation becomes plain.
	"max_generation": 2,
	# Kazdan et al. 2024, "Collapse or Thrive? Perils and Promises of Synthetic Data in a
	# Self-Generating World": what protects a model is the absolute amount of real data kept, not
	# only its proportion. 100 is a floor for experiments and tests; raise it by orders of
	# magnitude for a real training run.
	"min_human_samples": 100,
	# Shimabucoro et al. 2024, "LLM See, LLM Do": a student inherits the properties of the models
	# whose outputs it is trained on, and drawing from several teachers (multi-source) steers that
	# inheritance better than one. With the synthetic share capped at one half, a cap of 0.25 per
	# model means no single teacher supplies more than half of the synthetic data at the cap, so
	# reaching the cap takes at least two teachers. (0.5 would never bind next to a 0.5 ratio.)
	"max_model_share": 0.25,
	# Dohmatob et al. 2025, "Strong Model Collapse" (ICLR 2025): even a small share of synthetic
	# data can hurt; Feng et al. 2025, "Beyond Model Collapse: Scaling Up with Synthesized Data
	# Requires Verification": verified, selected synthetic data does not. A sample is admitted
	# only with a toxicity score (verified) at or below this ceiling; unscored samples stay out.
	"max_toxicity": 0.5,
	# Lee et al. 2022, "Deduplicating Training Data Makes Language Models Better" (ACL 2022):
	# near-duplicate text, found with MinHash, makes models memorise and repeat it, and removing it
	# costs no quality; Penedo et al. 2023 (RefinedWeb) dedup the same way at scale. Generated data
	# repeats itself more than human writing: a teacher answers similar prompts alike. "near" keeps
	# one sample of each near-duplicate cluster and of each normalized text.
	"dedup": "near",
}

# include: scored, not toxic, not too many model passes away from human writing, and not human
# text stored under --laundering=flag although it near-duplicates model output (its provenance is
# in doubt). Compiled into SQL; the explicit null tests matter, since SQL never admits a NULL
# through a comparison.
include if {
	input.sample.toxicity != null
	input.sample.toxicity <= limits.max_toxicity
	input.sample.generation <= limits.max_generation
	input.sample.near_duplicate_of == null
}

# deny: the limits again, on the summary of the finished mix.

required_stats := ["human", "synthetic", "synthetic_ratio", "generations", "models"]

has_stat(name) if input.mix.stats[name] != null

# A summary without the numbers below cannot be judged: refuse rather than allow by default.
deny contains msg if {
	some name in required_stats
	not has_stat(name)
	msg := sprintf("the mix summary has no stats.%s; the policy cannot decide without it", [name])
}

deny contains msg if {
	input.mix.stats.synthetic_ratio > limits.max_synthetic_ratio
	msg := sprintf("synthetic share %s exceeds the cap %s", [decimal2(input.mix.stats.synthetic_ratio), decimal2(limits.max_synthetic_ratio)])
}

deny contains msg if {
	some generation, n in input.mix.stats.generations
	n > 0
	to_number(generation) > limits.max_generation
	msg := sprintf("%d samples of generation %s; the policy allows at most generation %d", [n, generation, limits.max_generation])
}

deny contains msg if {
	total := input.mix.stats.human + input.mix.stats.synthetic
	total > 0
	some model, n in input.mix.stats.models
	n / total > limits.max_model_share
	msg := sprintf("model %s supplies %s of the mix; the cap is %s", [model, decimal2(n / total), decimal2(limits.max_model_share)])
}

# decimal2 writes a number with two decimals (sprintf's %.2f rejects whole numbers).
decimal2(x) := sprintf("%d.00", [round(x)]) if x == round(x)

decimal2(x) := sprintf("%.2f", [x]) if x != round(x)

# Tests: run at every upload and every compile.

sample := {
	"origin": "human", "model": null, "generation": 0, "generation_basis": "human",
	"dataset": "essays", "source_kind": "public_dataset", "license": "CC-BY-4.0",
	"tokens": 120, "mtld": 80.5, "toxicity": 0.1,
	"cluster": null, "near_duplicate_of": null,
}

with_sample(patch) := {"sample": object.union(sample, patch)}

balanced := {
	"size": 200, "strategy": "random",
	"stats": {
		"human": 150, "synthetic": 50, "synthetic_ratio": 0.25,
		"generations": {"0": 150, "1": 40, "2": 10},
		"models": {"teacher-a@1": 30, "teacher-b@1": 20},
		"metrics": {},
	},
	"request": {"size": 200},
}

with_stats(patch) := {"mix": object.union(balanced, {"stats": object.union(balanced.stats, patch)})}

test_include_admits_a_scored_clean_sample if include with input as with_sample({})

test_include_admits_the_ceilings if include with input as with_sample({"toxicity": 0.5, "generation": 2})

test_include_refuses_an_unscored_sample if not include with input as with_sample({"toxicity": null})

test_include_refuses_a_toxic_sample if not include with input as with_sample({"toxicity": 0.51})

test_include_refuses_a_deep_generation if not include with input as with_sample({"generation": 3})

test_include_refuses_flagged_laundering if {
	not include with input as with_sample({"near_duplicate_of": "01900000-0000-7000-8000-000000000001"})
}

test_include_admits_a_cluster_member if include with input as with_sample({"cluster": "01900000-0000-7000-8000-000000000001"})

test_allows_a_balanced_mix if count(deny) == 0 with input as {"mix": balanced}

test_denies_a_high_synthetic_share if {
	deny == {"synthetic share 0.62 exceeds the cap 0.50"} with input as with_stats({"synthetic_ratio": 0.62})
}

# min_human_samples is the mixer's to refuse (it says "the mix holds 40 human samples; the policy
# requires at least 100 (min_human_samples)"): a deny rule for it would state the reason twice.
test_leaves_the_human_floor_to_the_mixer if {
	count(deny) == 0 with input as with_stats({"human": 40, "synthetic": 10, "synthetic_ratio": 0.2, "models": {"teacher-a@1": 5, "teacher-b@1": 5}})
}

test_denies_a_deep_generation if {
	deny == {"3 samples of generation 3; the policy allows at most generation 2"} with input as with_stats({"generations": {"0": 150, "3": 3}})
}

test_ignores_an_empty_deep_generation if {
	count(deny) == 0 with input as with_stats({"generations": {"0": 150, "3": 0}})
}

test_denies_a_dominant_model if {
	deny == {"model teacher-a@1 supplies 0.30 of the mix; the cap is 0.25"} with input as with_stats({"models": {"teacher-a@1": 60}})
}

test_denies_a_summary_without_stats if {
	count(deny) == count(required_stats) with input as {"mix": {"size": 0}}
}
