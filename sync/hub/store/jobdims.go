package store

import "motcua-agent/sync/wire"

// snapshotDims is the canonical text of the dims of a job's snapshot k, computed once
// per job: the writer's steps (row budgets, held rows, the upsert, the summaries) each
// key the snapshot by it, and marshalling a map four times per row was a tenth of a
// SQLite hub's CPU. submit fills it in the push's own goroutine, off the writer loop.
func (j *ingestJob) snapshotDims(k int) string {
	if j.dims == nil {
		j.dims = make([]string, len(j.push.Snapshots))
		for i := range j.push.Snapshots {
			j.dims[i] = wire.CanonicalDims(j.push.Snapshots[i].Dims)
		}
	}
	return j.dims[k]
}
