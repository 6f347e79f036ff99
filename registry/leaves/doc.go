// Package leaves checks stored records against the tamper-evident log. The leaf of each kind of
// record is the domain's (registry.SampleLeaf and the rest); this package reads records back from a
// store and re-derives their leaves: Checked proves every record a registry reads where it is used,
// RecordLeaf re-derives the record that a leaf names (the start-up check), and the walks re-derive
// every record of a kind (the full check), the same for every store.
package leaves
