// Image reference parsing and container naming.
#include "docker/image_ref.h"

#include "util/uuid.h"

namespace docker {

namespace {
bool looks_like_registry(std::string_view component) {
  return component.find('.') != std::string_view::npos || component.find(':') != std::string_view::npos ||
         component == "localhost";
}
}  // namespace

std::string ImageRef::name() const {
  if (registry == "docker.io") return repository;
  return registry + "/" + repository;
}

std::string ImageRef::pull_tag() const {
  if (!digest.empty()) return digest;
  return tag.empty() ? "latest" : tag;
}

ImageRef parse_image_ref(std::string_view ref) {
  ImageRef out;
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    out.digest = std::string(ref.substr(at + 1));
    ref = ref.substr(0, at);
  }
  const auto last_slash = ref.rfind('/');
  const auto last_colon = ref.rfind(':');
  if (last_colon != std::string_view::npos && (last_slash == std::string_view::npos || last_colon > last_slash)) {
    out.tag = std::string(ref.substr(last_colon + 1));
    ref = ref.substr(0, last_colon);
  }
  const auto first_slash = ref.find('/');
  if (first_slash != std::string_view::npos && looks_like_registry(ref.substr(0, first_slash))) {
    out.registry = std::string(ref.substr(0, first_slash));
    out.repository = std::string(ref.substr(first_slash + 1));
  } else {
    out.registry = "docker.io";
    out.repository = std::string(ref);
  }
  return out;
}

std::string container_name(std::string_view task_id) {
  return "mesos-" + util::uuid_to_string(util::uuid_v5(util::UuidBytes{}, task_id));
}

}  // namespace docker
