// Turning row-major sample matrices (one sample per row, as in
// datasets::Dataset) into the column batches nn::Model consumes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

namespace edgefl::nn {

using RowMajorMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColumnBlockView = Eigen::Map<const Eigen::MatrixXf, 0, Eigen::OuterStride<>>;

// Rows [begin, begin + count) of `rows` (n x d) as a d x count column batch,
// without copying: a row-major block is already column-major transposed.
// REQUIRES: 0 <= begin, begin + count <= rows.rows(). The view aliases `rows`.
inline ColumnBlockView ColumnBlock(const Eigen::Ref<const RowMajorMatrixXf>& rows,
                                   Eigen::Index begin, Eigen::Index count) {
  return ColumnBlockView(rows.data() + begin * rows.outerStride(), rows.cols(), count,
                         Eigen::OuterStride<>(rows.outerStride()));
}

// Copies row indices[b] of `rows` into column b of *batch (resized to
// d x indices.size(); no allocation when the shape is unchanged) and, if
// `labels_out` is not null, labels[indices[b]] into (*labels_out)[b].
// REQUIRES: every index < rows.rows() (and < labels.size()).
void GatherColumns(const Eigen::Ref<const RowMajorMatrixXf>& rows,
                   std::span<const uint32_t> indices, Eigen::MatrixXf* batch,
                   std::span<const int32_t> labels = {},
                   std::vector<int32_t>* labels_out = nullptr);

}  // namespace edgefl::nn
