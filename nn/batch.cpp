#include "nn/batch.h"

#include <algorithm>

namespace edgefl::nn {

void GatherColumns(const Eigen::Ref<const RowMajorMatrixXf>& rows,
                   std::span<const uint32_t> indices, Eigen::MatrixXf* batch,
                   std::span<const int32_t> labels, std::vector<int32_t>* labels_out) {
  const Eigen::Index d = rows.cols();
  const auto count = static_cast<Eigen::Index>(indices.size());
  batch->resize(d, count);
  for (Eigen::Index b = 0; b < count; ++b) {
    const float* src = rows.data() + static_cast<Eigen::Index>(indices[b]) * rows.outerStride();
    std::copy_n(src, d, batch->col(b).data());
  }
  if (labels_out != nullptr) {
    labels_out->resize(indices.size());
    for (size_t b = 0; b < indices.size(); ++b)
      (*labels_out)[b] = labels[indices[b]];
  }
}

}  // namespace edgefl::nn
