package load

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Comparison sets several reports side by side, per operation: throughput and p99. The
// benchmark script prints it to compare configurations.
type Comparison struct {
	// Labels name the reports, in column order.
	Labels []string `json:"labels"`
	// Setups describe each report's load, such as "closed model, 4 workers per service".
	Setups []string `json:"setups"`
	// Other is, per report, the most CPU other programs used during its runs, in cores; the
	// numbers of a report with a high value are low because the machine was shared.
	Other []float64 `json:"other_cores"`
	// Rows hold one operation each, in the first report's order.
	Rows []ComparisonRow `json:"rows"`
}

// ComparisonRow is one operation across the reports. A report without the operation has a
// zero cell.
type ComparisonRow struct {
	Operation string           `json:"operation"`
	Cells     []ComparisonCell `json:"cells"`
}

// ComparisonCell is one operation in one report.
type ComparisonCell struct {
	Throughput   float64       `json:"throughput_per_sec"`
	P99          time.Duration `json:"p99_ns"`
	SuccessRatio float64       `json:"success_ratio"`
}

// ReadReport parses a JSON report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("parsing report %s: %w", path, err)
	}
	return &r, nil
}

// Compare builds the comparison of reports under labels, which must be as many.
func Compare(labels []string, reports []*Report) (*Comparison, error) {
	if len(labels) != len(reports) || len(reports) == 0 {
		return nil, fmt.Errorf("comparing: got %d labels for %d reports; want one each",
			len(labels), len(reports))
	}
	c := &Comparison{Labels: labels}
	for _, r := range reports {
		c.Setups = append(c.Setups, setupOf(r))
		c.Other = append(c.Other, otherCores(r))
	}
	for _, op := range reports[0].Operations {
		row := ComparisonRow{Operation: op.Name}
		for _, r := range reports {
			o, _ := r.Op(op.Name)
			row.Cells = append(row.Cells, ComparisonCell{
				Throughput: o.Throughput, P99: o.Latency.P99, SuccessRatio: o.SuccessRatio,
			})
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

// otherCores returns the largest "other" CPU entry of r, which holds one per merged run.
func otherCores(r *Report) float64 {
	most := 0.0
	for _, c := range r.CPU {
		if c.Name == otherName {
			most = max(most, c.Cores)
		}
	}
	return most
}

func setupOf(r *Report) string {
	if r.Model == Open {
		return fmt.Sprintf("open model, %g/s per service, %s", r.Rate, round(r.Elapsed))
	}
	return fmt.Sprintf("closed model, %d workers per service, %s", r.Concurrency,
		round(r.Elapsed))
}

// WriteTable prints the comparison as a Markdown table, ready for documentation.
func (c *Comparison) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	for i, l := range c.Labels {
		ew.printf("- %s: %s; other programs used up to %.2f cores\n", l, c.Setups[i],
			c.Other[i])
	}
	head := []string{"operation"}
	rule := []string{"---"}
	for _, l := range c.Labels {
		head = append(head, l+" ok/s", l+" p99")
		rule = append(rule, "---:", "---:")
	}
	ew.printf("\n| %s |\n| %s |\n", strings.Join(head, " | "), strings.Join(rule, " | "))
	for _, row := range c.Rows {
		cells := []string{"`" + row.Operation + "`"}
		for _, cell := range row.Cells {
			cells = append(cells, fmt.Sprintf("%.1f", cell.Throughput), round(cell.P99))
		}
		ew.printf("| %s |\n", strings.Join(cells, " | "))
	}
	if ew.err != nil {
		return fmt.Errorf("writing comparison: %w", ew.err)
	}
	return nil
}

// WriteJSON prints the comparison as indented JSON.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}
