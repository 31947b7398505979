#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace edgefl::report {

namespace {

constexpr double kCharWidth = 6.6;  // average width of an 11 px sans-serif glyph
constexpr size_t kMaxLabel = 28;    // longer names are shortened with an ellipsis

std::string Num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// Shortens `text` to kMaxLabel characters (UTF-8 aware enough: never splits
// a multi-byte sequence).
std::string Shorten(const std::string& text, size_t max = kMaxLabel) {
  if (text.size() <= max) return text;
  size_t cut = max - 1;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  return text.substr(0, cut) + "\xE2\x80\xA6";
}

double TextWidth(const std::string& text) {
  return kCharWidth * static_cast<double>(std::min(text.size(), kMaxLabel));
}

struct Axis {
  double lo = 0.0;
  double hi = 1.0;
  std::vector<double> ticks;
  int decimals = 0;
};

// Ticks at 1, 2 or 5 x 10^k covering [lo, hi]; `extend` widens the range to
// the outer ticks; `integer` forces a step of at least 1.
Axis NiceAxis(double lo, double hi, bool extend, bool integer, int target = 5) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0.0;
    hi = 1.0;
  }
  if (hi <= lo) {
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * magnitude;
  if (integer) step = std::max(step, 1.0);
  Axis axis;
  if (extend) {
    lo = std::floor(lo / step + 1e-9) * step;
    hi = std::ceil(hi / step - 1e-9) * step;
  }
  axis.lo = lo;
  axis.hi = hi;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) {
    axis.ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  axis.decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return axis;
}

std::string TickLabel(double v, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string Text(double x, double y, const std::string& text, const std::string& attributes) {
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" " + attributes + ">" + EscapeXml(text) +
         "</text>";
}

std::string SvgOpen(int width, double height, const std::string& title) {
  const std::string h = Num(height);
  return "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         std::to_string(width) + "\" height=\"" + h + "\" viewBox=\"0 0 " + std::to_string(width) +
         " " + h + "\" role=\"img\" aria-label=\"" + EscapeXml(title) +
         "\" font-family=\"sans-serif\" font-size=\"11\">" +
         "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>" +
         Text(static_cast<double>(width) / 2, 18, title,
              "class=\"title\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"");
}

struct LegendItem {
  std::string name;
  std::string color;
  bool line = true;  // a line swatch (plots) or a box (bars, grid)
};

// Lays the legend out in rows under the chart; returns its height.
double LegendHeight(const std::vector<LegendItem>& items, int width, double left) {
  if (items.empty()) return 0.0;
  double x = left;
  int rows = 1;
  for (const LegendItem& item : items) {
    const double w = 28 + TextWidth(item.name) + 18;
    if (x + w > width && x > left) {
      ++rows;
      x = left;
    }
    x += w;
  }
  return rows * 18.0 + 6.0;
}

std::string Legend(const std::vector<LegendItem>& items, int width, double left, double top) {
  std::string out = "<g class=\"legend-box\">";
  double x = left;
  double y = top + 12;
  for (const LegendItem& item : items) {
    const double w = 28 + TextWidth(item.name) + 18;
    if (x + w > width && x > left) {
      y += 18;
      x = left;
    }
    out += "<g><title>" + EscapeXml(item.name) + "</title>";
    if (item.line) {
      out += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(y - 4) + "\" x2=\"" + Num(x + 22) +
             "\" y2=\"" + Num(y - 4) + "\" stroke=\"" + item.color + "\" stroke-width=\"2.5\"/>";
    } else {
      out += "<rect x=\"" + Num(x + 6) + "\" y=\"" + Num(y - 10) +
             "\" width=\"12\" height=\"12\" fill=\"" + item.color + "\"/>";
    }
    out += Text(x + 28, y, Shorten(item.name), "class=\"legend\"") + "</g>";
    x += w;
  }
  return out + "</g>";
}

// The frame, grid lines, ticks and axis labels of a plot area.
struct Frame {
  double left, top, right, bottom;  // plot area in pixels
  double X(double v, const Axis& a) const {
    return left + (v - a.lo) / (a.hi - a.lo) * (right - left);
  }
  double Y(double v, const Axis& a) const {
    return bottom - (v - a.lo) / (a.hi - a.lo) * (bottom - top);
  }
};

std::string YAxis(const Frame& f, const Axis& y, const std::string& label) {
  std::string out;
  for (double t : y.ticks) {
    const double py = f.Y(t, y);
    out += "<line x1=\"" + Num(f.left) + "\" y1=\"" + Num(py) + "\" x2=\"" + Num(f.right) +
           "\" y2=\"" + Num(py) + "\" stroke=\"#e4e4e4\"/>";
    out += Text(f.left - 6, py + 4, TickLabel(t, y.decimals), "text-anchor=\"end\" fill=\"#333\"");
  }
  const double mid = (f.top + f.bottom) / 2;
  out += "<text x=\"14\" y=\"" + Num(mid) + "\" transform=\"rotate(-90 14 " + Num(mid) +
         ")\" text-anchor=\"middle\" class=\"axis-label\">" + EscapeXml(label) + "</text>";
  return out;
}

std::string XLabel(const Frame& f, const std::string& label) {
  return Text((f.left + f.right) / 2, f.bottom + 34, label,
              "text-anchor=\"middle\" class=\"axis-label\"");
}

std::string FrameBox(const Frame& f) {
  return "<rect x=\"" + Num(f.left) + "\" y=\"" + Num(f.top) + "\" width=\"" +
         Num(f.right - f.left) + "\" height=\"" + Num(f.bottom - f.top) +
         "\" fill=\"none\" stroke=\"#888\"/>";
}

std::string NoData(const Frame& f, const std::string& note) {
  return Text((f.left + f.right) / 2, (f.top + f.bottom) / 2, note,
              "text-anchor=\"middle\" fill=\"#777\" font-size=\"13\"");
}

}  // namespace

std::string EscapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string HtmlFigure(const std::string& svg, const std::string& caption) {
  return "<figure>" + svg +
         (caption.empty() ? "" : "<figcaption>" + EscapeXml(caption) + "</figcaption>") +
         "</figure>\n";
}

std::string SeriesColor(size_t i) {
  // Tableau 10: distinguishable, readable on white.
  static const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

std::string RenderLinePlot(const LinePlot& plot, int width, int height) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  bool x_integer = true;
  size_t max_points = 0;
  for (const Series& s : plot.series) {
    size_t points = 0;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
      if (s.x[i] != std::floor(s.x[i])) x_integer = false;
      ++points;
    }
    max_points = std::max(max_points, points);
  }
  const bool empty = max_points == 0;
  if (!std::isnan(plot.y_min)) y_lo = plot.y_min;
  if (!std::isnan(plot.y_max)) y_hi = plot.y_max;
  const bool fixed_y = !std::isnan(plot.y_min) && !std::isnan(plot.y_max);
  const Axis x = NiceAxis(x_lo, x_hi, true, x_integer);
  const Axis y = NiceAxis(y_lo, y_hi, !fixed_y, false);

  std::vector<LegendItem> legend;
  for (size_t i = 0; i < plot.series.size(); ++i)
    legend.push_back({plot.series[i].name, SeriesColor(i), true});
  const Frame f{64.0, 30.0, width - 16.0, height - 48.0};
  const double legend_height = LegendHeight(legend, width, f.left);
  std::string out = SvgOpen(width, height + legend_height, plot.title);
  out += YAxis(f, y, plot.y_label);
  for (double t : x.ticks) {
    const double px = f.X(t, x);
    out += "<line x1=\"" + Num(px) + "\" y1=\"" + Num(f.bottom) + "\" x2=\"" + Num(px) +
           "\" y2=\"" + Num(f.bottom + 5) + "\" stroke=\"#888\"/>";
    out +=
        Text(px, f.bottom + 17, TickLabel(t, x.decimals), "text-anchor=\"middle\" fill=\"#333\"");
  }
  out += XLabel(f, plot.x_label) + FrameBox(f);
  if (empty) out += NoData(f, "no data");
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    const std::string color = SeriesColor(i);
    std::string points, markers;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      const std::string px = Num(f.X(s.x[k], x)), py = Num(f.Y(s.y[k], y));
      points += (points.empty() ? "" : " ") + px + "," + py;
      if (max_points <= 60) {
        markers += "<circle cx=\"" + px + "\" cy=\"" + py + "\" r=\"2.5\" fill=\"" + color + "\"/>";
      }
    }
    out += "<polyline class=\"series\" data-series=\"" + EscapeXml(s.name) + "\" points=\"" +
           points + "\" fill=\"none\" stroke=\"" + color +
           "\" stroke-width=\"2\" stroke-linejoin=\"round\"><title>" + EscapeXml(s.name) +
           "</title></polyline>" + markers;
  }
  out += Legend(legend, width, f.left, height);
  return out + "</svg>";
}

std::string RenderBarChart(const BarChart& chart, int width, int height) {
  const size_t n = chart.categories.size();
  double top_value = 0.0;
  for (size_t c = 0; c < n; ++c) {
    double stack = 0.0;
    for (const BarLayer& layer : chart.layers) {
      const double v =
          c < layer.value.size() && std::isfinite(layer.value[c]) ? layer.value[c] : 0.0;
      if (chart.stacked) {
        stack += v;
      } else {
        stack = std::max(stack, v);
      }
    }
    top_value = std::max(top_value, stack);
  }
  const bool all_zero = top_value == 0.0;
  if (!std::isnan(chart.y_max)) top_value = chart.y_max;
  bool integer = true;
  for (const BarLayer& layer : chart.layers)
    for (double v : layer.value)
      if (std::isfinite(v) && v != std::floor(v)) integer = false;
  const Axis y = NiceAxis(0.0, all_zero && std::isnan(chart.y_max) ? 1.0 : top_value,
                          std::isnan(chart.y_max), integer);

  std::vector<LegendItem> legend;
  for (size_t i = 0; i < chart.layers.size(); ++i) {
    const BarLayer& layer = chart.layers[i];
    legend.push_back({layer.name, layer.color.empty() ? SeriesColor(i) : layer.color, false});
  }
  const Frame f{64.0, 30.0, width - 16.0, height - 48.0};
  const double legend_height = LegendHeight(legend, width, f.left);
  std::string out = SvgOpen(width, height + legend_height, chart.title);
  out += YAxis(f, y, chart.y_label);
  const double band = n == 0 ? 0.0 : (f.right - f.left) / static_cast<double>(n);
  // Category labels: as many as fit without overlapping.
  size_t longest = 1;
  for (const std::string& c : chart.categories)
    longest = std::max(longest, std::min(c.size(), kMaxLabel));
  const double label_width = kCharWidth * static_cast<double>(longest) + 6;
  const size_t every =
      band <= 0 ? 1 : std::max<size_t>(1, static_cast<size_t>(std::ceil(label_width / band)));
  const size_t layers = std::max<size_t>(1, chart.layers.size());
  // Bars no wider than 36 px, centred in their band.
  const double bar_width =
      std::min(chart.stacked ? band * 0.7 : band * 0.8 / static_cast<double>(layers), 36.0);
  const double group_width = chart.stacked ? bar_width : bar_width * static_cast<double>(layers);
  for (size_t c = 0; c < n; ++c) {
    const double band_left = f.left + band * static_cast<double>(c);
    if (c % every == 0) {
      out += Text(band_left + band / 2, f.bottom + 17, Shorten(chart.categories[c]),
                  "text-anchor=\"middle\" fill=\"#333\"");
    }
    double stack = 0.0;
    for (size_t l = 0; l < chart.layers.size(); ++l) {
      const BarLayer& layer = chart.layers[l];
      const double v =
          c < layer.value.size() && std::isfinite(layer.value[c]) ? layer.value[c] : 0.0;
      if (v <= 0.0) continue;
      const double x0 = band_left + (band - group_width) / 2 +
                        (chart.stacked ? 0.0 : bar_width * static_cast<double>(l));
      const double y_top = f.Y(std::min(stack + v, y.hi), y);
      const double y_bottom = f.Y(stack, y);
      if (chart.stacked) stack += v;
      out += "<rect class=\"bar\" x=\"" + Num(x0) + "\" y=\"" + Num(y_top) + "\" width=\"" +
             Num(std::max(bar_width, 1.0)) + "\" height=\"" + Num(std::max(y_bottom - y_top, 0.5)) +
             "\" fill=\"" + legend[l].color + "\"><title>" +
             EscapeXml(layer.name + ", " + chart.categories[c] + ": " +
                       TickLabel(v, integer ? 0 : 3)) +
             "</title></rect>";
    }
  }
  out += XLabel(f, chart.x_label) + FrameBox(f);
  if (n == 0) {
    out += NoData(f, "no data");
  } else if (all_zero && !chart.empty_note.empty()) {
    out += NoData(f, chart.empty_note);
  }
  out += Legend(legend, width, f.left, height);
  return out + "</svg>";
}

std::string RenderCategoryGrid(const CategoryGrid& grid, int width) {
  const size_t rows = grid.rows.size();
  const size_t cols = grid.columns.size();
  size_t longest = 1;
  for (const std::string& r : grid.rows)
    longest = std::max(longest, std::min(r.size(), kMaxLabel));
  const double left = 30.0 + std::min(kCharWidth * static_cast<double>(longest) + 8, 190.0);
  const double plot_width = width - 16.0 - left;
  const double cell_w = cols == 0 ? 0.0 : std::min(plot_width / static_cast<double>(cols), 36.0);
  const double cell_h = rows == 0 ? 0.0 : std::clamp(480.0 / static_cast<double>(rows), 3.0, 18.0);
  const Frame f{left, 30.0, left + cell_w * static_cast<double>(cols),
                30.0 + std::max(cell_h * static_cast<double>(rows), 20.0)};
  const int height = static_cast<int>(f.bottom) + 48;
  std::vector<LegendItem> legend;
  for (const Category& c : grid.categories)
    legend.push_back({c.name, c.color, false});
  const double legend_height = LegendHeight(legend, width, 64.0);
  std::string out = SvgOpen(width, height + legend_height, grid.title);
  for (size_t r = 0; r < rows; ++r) {
    const double y0 = f.top + cell_h * static_cast<double>(r);
    const size_t every_row = static_cast<size_t>(std::ceil(12.0 / std::max(cell_h, 1.0)));
    if (r % every_row == 0) {
      out += Text(f.left - 5, y0 + cell_h / 2 + 4, Shorten(grid.rows[r]),
                  "text-anchor=\"end\" fill=\"#333\"");
    }
    for (size_t c = 0; c < cols; ++c) {
      const int k = r < grid.cells.size() && c < grid.cells[r].size() ? grid.cells[r][c] : -1;
      if (k < 0 || static_cast<size_t>(k) >= grid.categories.size()) continue;
      out += "<rect class=\"cell\" x=\"" + Num(f.left + cell_w * static_cast<double>(c)) +
             "\" y=\"" + Num(y0) + "\" width=\"" +
             Num(std::max(cell_w - (cell_w > 4 ? 1 : 0), 0.5)) + "\" height=\"" +
             Num(std::max(cell_h - (cell_h > 4 ? 1 : 0), 0.5)) + "\" fill=\"" +
             grid.categories[k].color + "\"><title>" +
             EscapeXml(grid.rows[r] + ", " + grid.columns[c] + ": " + grid.categories[k].name) +
             "</title></rect>";
    }
  }
  const size_t every_col =
      cell_w <= 0 ? 1 : std::max<size_t>(1, static_cast<size_t>(std::ceil(28.0 / cell_w)));
  for (size_t c = 0; c < cols; c += every_col) {
    out += Text(f.left + cell_w * (static_cast<double>(c) + 0.5), f.bottom + 17,
                Shorten(grid.columns[c], 8), "text-anchor=\"middle\" fill=\"#333\"");
  }
  const double mid = (f.top + f.bottom) / 2;
  out += "<text x=\"14\" y=\"" + Num(mid) + "\" transform=\"rotate(-90 14 " + Num(mid) +
         ")\" text-anchor=\"middle\" class=\"axis-label\">" + EscapeXml(grid.y_label) + "</text>";
  out += XLabel(f, grid.x_label);
  if (rows == 0 || cols == 0) out += NoData(Frame{64.0, f.top, width - 16.0, f.bottom}, "no data");
  out += Legend(legend, width, 64.0, height);
  return out + "</svg>";
}

}  // namespace edgefl::report
