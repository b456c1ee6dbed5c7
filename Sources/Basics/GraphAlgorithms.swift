/// Graph algorithms over nodes identified by `Hashable` values, shared by manifest
/// validation (cycles in `from:`) and planning (task order).

private enum VisitColor { case white, gray, black }

/// Returns one cycle as a path that starts and ends at the same node, or nil.
///
/// Iterative depth-first search with three colors; O(V + E). Nodes are visited in the
/// order given so the reported cycle is stable across runs.
package func findCycle<Node: Hashable>(nodes: [Node], successors: (Node) -> [Node]) -> [Node]? {
    var color: [Node: VisitColor] = [:]
    for start in nodes where color[start, default: .white] == .white {
        var stack: [(node: Node, next: [Node], index: Int)] = [(start, successors(start), 0)]
        var path: [Node] = [start]
        color[start] = .gray
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].index < stack[top].next.count {
                let child = stack[top].next[stack[top].index]
                stack[top].index += 1
                switch color[child, default: .white] {
                case .gray:
                    let first = path.firstIndex(of: child)!
                    return Array(path[first...]) + [child]
                case .white:
                    color[child] = .gray
                    stack.append((child, successors(child), 0))
                    path.append(child)
                case .black:
                    continue
                }
            } else {
                color[stack[top].node] = .black
                stack.removeLast()
                path.removeLast()
            }
        }
    }
    return nil
}

/// Kahn's algorithm: nodes ordered so every node comes after its predecessors; ties keep
/// the input order. O(V + E). Returns nil when the graph has a cycle.
package func topologicalSort<Node: Hashable>(nodes: [Node], predecessors: (Node) -> [Node]) -> [Node]? {
    var indegree: [Node: Int] = [:]
    var dependents: [Node: [Node]] = [:]
    let known = Set(nodes)
    for node in nodes {
        let preds = predecessors(node).filter { known.contains($0) }
        indegree[node] = preds.count
        for pred in preds { dependents[pred, default: []].append(node) }
    }
    let position = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1, $0) })
    var ready = nodes.filter { indegree[$0] == 0 }
    var order: [Node] = []
    order.reserveCapacity(nodes.count)
    var cursor = 0
    while cursor < ready.count {
        let node = ready[cursor]
        cursor += 1
        order.append(node)
        var released: [Node] = []
        for dependent in dependents[node] ?? [] {
            indegree[dependent]! -= 1
            if indegree[dependent] == 0 { released.append(dependent) }
        }
        ready.append(contentsOf: released.sorted { position[$0]! < position[$1]! })
    }
    return order.count == nodes.count ? order : nil
}
