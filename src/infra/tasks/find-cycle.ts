// Cycle detection in a dependency graph given as adjacency lists: used to refuse task lists that
// could never finish.

/** One cycle of the graph (nodes in "depends on" order), or undefined; iterative DFS, O(V + E). */
export function findCycle(edges: readonly (readonly number[])[]): number[] | undefined {
  const n = edges.length;
  const state = new Uint8Array(n); // 0 unvisited, 1 on the current path, 2 finished
  const next = new Uint32Array(n);
  const path: number[] = [];
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    state[root] = 1;
    path.push(root);
    while (path.length > 0) {
      const u = path[path.length - 1]!;
      const out = edges[u]!;
      if (next[u]! < out.length) {
        const v = out[next[u]!++]!;
        if (state[v] === 0) {
          state[v] = 1;
          path.push(v);
        } else if (state[v] === 1) {
          return path.slice(path.indexOf(v));
        }
      } else {
        state[u] = 2;
        path.pop();
      }
    }
  }
  return undefined;
}
