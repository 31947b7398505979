// A small writer of self-contained SVG charts for the HTML report: line
// plots, bar charts (grouped or stacked) and category grids (a heatmap of
// discrete states), each with a title, axes with ticks, axis labels and a
// legend. No scripts, no external resources; every text is XML-escaped.
//
// Structure the tests rely on: each chart is one <svg class="plot">; each
// line series is one <polyline class="series" data-series="NAME"> with one
// "x,y" pair per finite point; each legend entry is a <text class="legend">
// holding the (escaped, possibly shortened) series name.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace edgefl::report {

// Escapes & < > " ' for XML/HTML text and attribute values.
std::string EscapeXml(std::string_view text);

// `svg` in an HTML <figure>, with `caption` (escaped) as its <figcaption>
// unless it is empty.
std::string HtmlFigure(const std::string& svg, const std::string& caption = "");

// The i-th colour of the palette (cycles), as "#rrggbb".
std::string SeriesColor(size_t i);

struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;  // same length as x; NaN points are left out
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  // Fixed y range (e.g. accuracy in [0, 1]); NaN = from the data.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
};

// Renders `plot` as an <svg> element `width` pixels wide. With no finite
// point at all, the chart says "no data".
std::string RenderLinePlot(const LinePlot& plot, int width = 600, int height = 340);

struct BarLayer {
  std::string name;           // legend entry
  std::vector<double> value;  // one per category
  std::string color;          // "" = the palette's
};

struct BarChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> categories;  // x positions, left to right
  std::vector<BarLayer> layers;
  bool stacked = false;  // true: layers stacked; false: side by side
  double y_max = std::numeric_limits<double>::quiet_NaN();  // NaN = from the data
  std::string empty_note;  // shown when every value is 0, e.g. "none dropped"
};

std::string RenderBarChart(const BarChart& chart, int width = 600, int height = 300);

struct Category {
  std::string name;
  std::string color;
};

// A rows x columns grid, each cell one category (or -1: blank).
struct CategoryGrid {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> rows;
  std::vector<std::string> columns;
  std::vector<std::vector<int>> cells;  // [row][column]
  std::vector<Category> categories;
};

std::string RenderCategoryGrid(const CategoryGrid& grid, int width = 600);

}  // namespace edgefl::report
