#include "report/landscape_section.h"

#include <cstdio>

#include "common/number_text.h"

namespace edgefl::report {

namespace {

std::string Num(const std::string& text) {
  return "<td class=\"num\">" + text + "</td>";
}

}  // namespace

std::string LandscapeHint() {
  return "<p class=\"note landscape-hint\">No Landscape section: the run stored no client "
         "models (set keep_client_models = N in its config to keep the newest N rounds' local "
         "models; docs/settings.md).</p>\n";
}

std::string RenderLandscapeSection(const LandscapeSection& section) {
  std::string html =
      "<h3 class=\"landscape\">Landscape (round " + std::to_string(section.round) + ")</h3>\n";
  html +=
      "<p class=\"note\">Are the clients' local models and the global model in one connected "
      "low-loss region (Shevchenko &amp; Mondelli 2020)? Barrier = the highest loss along a path "
      "between two local models minus the loss of the worse end: 0 means the path never rises "
      "above its ends. The dropout path (one hidden layer mlps only) goes through each model with "
      "half its neurons kept, so its barrier is bounded by the models' dropout losses. Dropout "
      "stability: the global model's loss when only a fraction of its last hidden layer's neurons "
      "is kept (their output weights rescaled), mean over random subsets. Measured as "
      "<code>edgefl analyze</code> measures it by default, on " +
      EscapeXml(section.setting) + ".</p>\n";
  if (!section.unavailable.empty()) {
    return html + "<p class=\"note landscape-unavailable\">Not measured: " +
           EscapeXml(section.unavailable) + "</p>\n";
  }
  std::string charts;
  if (section.pair) {
    const LandscapePair& p = *section.pair;
    html +=
        "<table class=\"summary landscape-pairs\"><thead><tr><th>pair</th><th>L(θ_A)</th>"
        "<th>L(θ_B)</th><th>straight-line barrier</th><th>dropout-path barrier</th></tr>"
        "</thead><tbody>\n<tr><td>" +
        EscapeXml(p.a + " ~ " + p.b) + "</td>" + Num(FixedDecimals(p.loss_a, 4)) +
        Num(FixedDecimals(p.loss_b, 4)) + Num(FixedDecimals(p.line_barrier, 4)) +
        Num(p.path_barrier ? FixedDecimals(*p.path_barrier, 4) : "&#8211;") +
        "</tr>\n</tbody></table>\n";
    LinePlot plot;
    plot.title = "loss between " + p.a + " and " + p.b;
    plot.x_label = "position on the path t";
    plot.y_label = "loss";
    plot.series.push_back(p.line);
    if (p.path) plot.series.push_back(*p.path);
    charts +=
        HtmlFigure(RenderLinePlot(plot),
                   p.path ? "The two clients' local models (the first two by id) at t = 0 and 1."
                          : "The dropout path is built for one hidden layer; this model has "
                            "more, so only the straight line is shown.");
  } else {
    html +=
        "<p class=\"note\">Fewer than two client models are stored for this round: no "
        "barrier.</p>\n";
  }
  if (section.global_curve) {
    const LandscapeCurve& c = *section.global_curve;
    html += "<table class=\"summary landscape-dropout\"><thead><tr><th>model</th><th>full</th>";
    for (double f : c.fractions)
      html += "<th>" + FixedDecimals(f, 2) + "</th>";
    html += "</tr></thead><tbody>\n<tr><td>global</td>" + Num(FixedDecimals(c.full_loss, 4));
    LinePlot plot;
    plot.title = "dropout stability of the global model";
    plot.x_label = "fraction of neurons kept";
    plot.y_label = "loss";
    Series series{"global", {}, {}};
    for (size_t i = 0; i < c.fractions.size() && i < c.loss_mean.size(); ++i) {
      html += Num(FixedDecimals(c.loss_mean[i], 4));
      series.x.push_back(c.fractions[i]);
      series.y.push_back(c.loss_mean[i]);
    }
    html += "</tr>\n</tbody></table>\n";
    plot.series.push_back(std::move(series));
    charts +=
        HtmlFigure(RenderLinePlot(plot), "Fraction 1 keeps every neuron: the model's own loss.");
  } else {
    html +=
        "<p class=\"note\">The global model of this round is not stored (pruned): no "
        "dropout-stability curve.</p>\n";
  }
  return html + "<div class=\"charts\">\n" + charts + "</div>\n";
}

}  // namespace edgefl::report
