/// A column of a table view. Columns are chosen by `priority` (lower is
/// kept longer) until the width is used up, then drawn in declaration
/// order; flexible columns share what is left, up to `maxWidth`.
struct TableColumn<Row> {
    var title: String
    var width: Int
    var align: DisplayWidth.Alignment = .left
    var priority: Int
    var flexible = false
    var maxWidth = Int.max
    /// Text of the cell and, if it differs from the row's, its role.
    var cell: (Row) -> (String, StyleRole?)
}

struct TableLayout<Row> {
    var columns: [TableColumn<Row>]
    /// (column index, x, width) of the columns that fit, in display order.
    var placed: [(index: Int, x: Int, width: Int)]

    init(_ columns: [TableColumn<Row>], totalWidth: Int, gap: Int = 1) {
        self.columns = columns
        var chosen = Set<Int>()
        var used = 0
        for i in columns.indices.sorted(by: { (columns[$0].priority, $0) < (columns[$1].priority, $1) }) {
            let need = columns[i].width + (chosen.isEmpty ? 0 : gap)
            if used + need <= totalWidth {
                chosen.insert(i)
                used += need
            }
        }
        var widths = [Int: Int]()
        for i in chosen { widths[i] = columns[i].width }
        var spare = totalWidth - used
        for i in columns.indices where chosen.contains(i) && columns[i].flexible && spare > 0 {
            let add = min(spare, max(0, columns[i].maxWidth - columns[i].width))
            widths[i]! += add
            spare -= add
        }
        var x = 0
        var placed: [(Int, Int, Int)] = []
        for i in columns.indices where chosen.contains(i) {
            placed.append((i, x, widths[i]!))
            x += widths[i]! + gap
        }
        self.placed = placed
    }

    func drawHeader(into buf: inout CellBuffer, x: Int, y: Int, width: Int) {
        buf.fill(x: x, y: y, count: width, role: .header)
        for p in placed {
            let c = columns[p.index]
            buf.put(c.title, x: x + p.x, y: y, width: p.width, align: c.align, role: .header)
        }
    }

    /// Draws one row. `override(i)` (i = position among the placed columns)
    /// replaces the cell's own role when it returns non-nil (a selected row).
    func drawRow(_ row: Row, role: StyleRole, into buf: inout CellBuffer, x: Int, y: Int,
                 override: ((Int) -> StyleRole?)? = nil) {
        for (i, p) in placed.enumerated() {
            let c = columns[p.index]
            let (text, r) = c.cell(row)
            buf.put(text, x: x + p.x, y: y, width: p.width, align: c.align, role: override?(i) ?? r ?? role)
        }
    }

    var titles: [String] { placed.map { columns[$0.index].title } }
}
