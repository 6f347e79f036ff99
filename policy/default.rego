# Pedigree's default mix policy, used when a mix request names no policy.
#
# Each limit says what its papers show and what is the project's own judgement (README, "The
# default policy", has the table). The mixer obeys `limits` while it builds a mix, `include` runs
# inside the database as a SQL WHERE clause, and `deny` checks the finished mix summary again, so
# that a mix that breaks a limit is refused with a message that says which and by how much.
package pedigree.mix

limits := {
	# Papers: Bertrand et al. 2024 (ICLR) prove iterative retraining stable when the first model is
	# close enough to the data and the share of real data is large enough: a condition, not a
	# number. Kang et al. 2025 (EMNLP) find about 30 % rephrased synthetic text the best share in
	# pre-training mixtures, and pure synthetic text worse. Judgement: a cap of 0.5 keeps every
	# mix at least half human, loose enough for fine-tuning mixes; lower it toward 0.3 for
	# pre-training.
	"max_synthetic_ratio": 0.5,
	# Paper: Shumailov et al. 2024 (Nature) show the tails vanishing and the error compounding
	# over generations of training on generated data. Judgement: no paper gives a number; 2
	# admits a teacher's output and one more pass (a rewrite, or a registry-trained student).
	"max_generation": 2,
	# Papers: Gerstgrasser et al. 2024 show that accumulating (keeping all earlier real data next
	# to the synthetic) keeps the test error bounded where replacing it collapses; Kazdan et al.
	# 2024 find the amount of real data kept shapes the outcome. Judgement: 100 is a floor for
	# experiments and tests; raise it by orders of magnitude for real training.
	"min_human_samples": 100,
	# Paper: Gerstgrasser et al. 2024, as above. A request that names its base_model must keep
	# every human sample of that model's training mixes that the policy still admits: what the
	# accumulate result supports, made a rule.
	"accumulate": true,
	# Paper: Shimabucoro et al. 2024 show a student inheriting its teachers' properties, and
	# selection across teachers steering it. Judgement: no paper gives 0.25; at the 0.5 cap it
	# means no one model supplies more than half of the synthetic data.
	"max_model_share": 0.25,
	# Papers: Dohmatob et al. 2025 find that even small synthetic shares can hurt scaling; Feng
	# et al. 2025 show that verifying or selecting synthetic data (for quality or correctness)
	# avoids collapse. Judgement: a toxicity score is a verification of one property, not theirs;
	# unscored samples stay out.
	"max_toxicity": 0.5,
	# Papers: Lee et al. 2022 (ACL) show near-duplicates memorised and removing them costing no
	# quality; Penedo et al. 2023 (RefinedWeb) dedup the same way at scale. "near" keeps one
	# sample of each near-duplicate cluster and of each normalized text.
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
