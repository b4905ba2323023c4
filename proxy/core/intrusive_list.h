// A doubly linked list through nodes embedded in the listed objects: linking and unlinking
// allocate nothing, which matters on the per-call path (every read in flight is listed so an
// eviction can move it, and so its hedge can be found). Not thread-safe; a node is in at most
// one list at a time and unlinks itself when destroyed.
#pragma once

#include <cstddef>

namespace ehp {

class ListNode {
 public:
  // `owner`: the object the node is embedded in, returned by owner().
  explicit ListNode(void* owner = nullptr) : owner_(owner) {}
  ListNode(const ListNode&) = delete;
  ListNode& operator=(const ListNode&) = delete;
  ~ListNode() { Unlink(); }

  bool linked() const { return list_ != nullptr; }
  void Unlink();
  template <typename T>
  T* owner() const {
    return static_cast<T*>(owner_);
  }

 private:
  friend class NodeList;
  void* const owner_;
  ListNode* prev_ = nullptr;
  ListNode* next_ = nullptr;
  class NodeList* list_ = nullptr;
};

class NodeList {
 public:
  NodeList() = default;
  NodeList(const NodeList&) = delete;
  NodeList& operator=(const NodeList&) = delete;
  ~NodeList() {
    while (head_ != nullptr) head_->Unlink();
  }

  void PushBack(ListNode* node) {
    node->Unlink();
    node->list_ = this;
    node->prev_ = tail_;
    node->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = node;
    } else {
      head_ = node;
    }
    tail_ = node;
    ++size_;
  }
  ListNode* front() const { return head_; }
  static ListNode* next(const ListNode* node) { return node->next_; }
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }

 private:
  friend class ListNode;
  ListNode* head_ = nullptr;
  ListNode* tail_ = nullptr;
  size_t size_ = 0;
};

inline void ListNode::Unlink() {
  if (list_ == nullptr) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    list_->head_ = next_;
  }
  if (next_ != nullptr) {
    next_->prev_ = prev_;
  } else {
    list_->tail_ = prev_;
  }
  --list_->size_;
  prev_ = next_ = nullptr;
  list_ = nullptr;
}

}  // namespace ehp
