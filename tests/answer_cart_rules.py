"""``capture.cart`` read from a JSON answer (Magento's customer-data ``cart`` section): the one rules text the
rule's own tests (tests/rules/test_answer_cart.py) and the tag-only server's (tests/proxy/
test_capture_answer_cart_tag.py) read, so both test the same rule."""

RULES = """
catalog:
  product_pages: "/{product}.html"
capture:
  cart:
    request: {path: "/customer/section/load/"}
    lines:
      items: cart.items
      product: product_url
      size: {key: options, where: {label: Size}, value: value}
      qty: qty
      price: product_price_value
    count: cart.summary_count
slots: []
"""
