// Docker image references ("registry:5000/team/app:1.2@sha256:…") split the way dockerd does, and the
// container name the Go executor gives a task. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace docker {

struct ImageRef {
  std::string registry;    // "127.0.0.1:5000", "docker.io" when the reference names none
  std::string repository;  // path without registry: "team/app"; "library/busybox" is not added
  std::string tag;         // after the last ':' that follows the last '/'; empty when absent
  std::string digest;      // after '@'; empty when absent

  // What /images/create takes as fromImage: the reference without tag and digest.
  std::string name() const;
  // Tag to pull: the tag, else "latest" (a digest reference pulls by digest instead).
  std::string pull_tag() const;
};

// Splits without checking (any text gives some answer): for references already validated.
ImageRef parse_image_ref(std::string_view ref);

// Longest name (registry and path, without tag and digest) Docker accepts.
inline constexpr std::size_t kMaxImageNameLength = 255;

// Checks `ref` against Docker's reference grammar (registry host with optional port, lower-case path
// components, tag, sha256/sha384/sha512 digest, name length) and splits it as parse_image_ref does.
// A task's image goes through here before anything is sent to Docker: the error names the image
// (control characters escaped, long text cut) and the part that is wrong.
util::Result<ImageRef> validate_image_ref(std::string_view ref);

// Whether a launch pulls the image even when Docker has it: the reference has no digest and either no
// tag (Docker reads it as `latest`) or the tag `latest`, names a registry moves from image to image.
// The Go executor pulled untagged references at every launch (its exact RepoTags match never finds
// "app" among "app:latest"), and users of `latest`-style images rely on it. A digest names one image
// for good; any other tag is taken as fixed.
bool refreshed_on_launch(const ImageRef& ref);

// The container's SERVICE_VERSION: the tag; with a digest and no tag, the digest's hex without its
// algorithm (what the Go executor's split on ':' gives for "app@sha256:<hex>"); none otherwise.
std::optional<std::string> service_version(const ImageRef& ref);

// "mesos-" + UUIDv5(nil namespace, task id), lower-case canonical form.
std::string container_name(std::string_view task_id);

}  // namespace docker
