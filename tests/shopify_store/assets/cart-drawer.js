// Dawn's assets/cart-drawer.js, trimmed: the drawer re-renders from the sections an add returns, and opens.
class CartDrawer extends HTMLElement {
  constructor() {
    super();
    this.addEventListener('keyup', (evt) => evt.code === 'Escape' && this.close());
    this.querySelectorAll('.drawer__close, #CartDrawer-Overlay').forEach((el) => el.addEventListener('click', () => this.close()));
  }
  open() {
    setTimeout(() => this.classList.add('animate', 'active'));
    document.body.classList.add('overflow-hidden');
  }
  close() {
    this.classList.remove('active');
    document.body.classList.remove('overflow-hidden');
  }
  renderContents(parsedState) {
    this.getSectionsToRender().forEach((section) => {
      const target = section.selector ? document.querySelector(section.selector) : document.getElementById(section.id);
      if (!target || !parsedState.sections || parsedState.sections[section.id] == null) return;
      const html = new DOMParser().parseFromString(parsedState.sections[section.id], 'text/html');
      const source = section.selector ? html.querySelector(section.selector) : html.body;
      if (section.id === 'cart-drawer') this.replaceWith(html.querySelector('cart-drawer'));
      else target.innerHTML = source.innerHTML;
    });
    const drawer = document.querySelector('cart-drawer');
    drawer.classList.remove('is-empty');
    drawer.open();
  }
  getSectionsToRender() {
    return [{ id: 'cart-drawer', selector: '#CartDrawer' }, { id: 'cart-icon-bubble' }];
  }
  setActiveElement(element) { this.activeElement = element; }
}
customElements.define('cart-drawer', CartDrawer);
