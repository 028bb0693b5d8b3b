/* AfterResume browser glue, loaded with defer on every page: adds the CSRF token to every htmx
   request, turns failed htmx requests into a visible message, closes open menus on outside click or
   Escape, asks for confirmation on forms marked data-confirm, stops double submits, shows timestamps in
   local time and wires the copy buttons of one-time secrets.
   No inline code is needed anywhere (strict CSP) and nothing here talks to another origin. */
(function () {
  'use strict';

  var doc = document;

  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }

  /* CSRF: the synchronizer token travels as a header on every htmx request. */
  doc.addEventListener('htmx:configRequest', function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers['X-CSRF-Token'] = token;
    }
  });

  /* Messages in the toast region (text only, never HTML). */
  function showToast(message, level) {
    var region = doc.getElementById('toast-region');
    if (!region) {
      return;
    }
    var toast = doc.createElement('div');
    toast.className = 'alert alert--' + (level || 'error') + ' toast';
    toast.setAttribute('role', level === 'error' ? 'alert' : 'status');
    var text = doc.createElement('p');
    text.className = 'toast__text';
    text.textContent = message;
    var close = doc.createElement('button');
    close.type = 'button';
    close.className = 'toast__close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '\u00d7';
    close.addEventListener('click', function () { toast.remove(); });
    toast.appendChild(text);
    toast.appendChild(close);
    region.appendChild(toast);
    while (region.children.length > 3) {
      region.removeChild(region.firstChild);
    }
    window.setTimeout(function () { toast.remove(); }, 10000);
  }

  function messageFromResponse(xhr) {
    var fallback = 'The request failed';
    if (!xhr) {
      return fallback + '.';
    }
    var message = '';
    var type = xhr.getResponseHeader('Content-Type') || '';
    if (type.indexOf('json') !== -1) {
      try {
        var body = JSON.parse(xhr.responseText);
        if (body && body.error && typeof body.error.message === 'string') {
          message = body.error.message;
        }
      } catch (ignored) {
        message = '';
      }
    }
    if (!message) {
      if (xhr.status === 401) {
        message = 'Your session has ended. Please sign in again.';
      } else if (xhr.status === 403) {
        message = 'You are not allowed to do that.';
      } else if (xhr.status === 404) {
        message = 'That item no longer exists.';
      } else if (xhr.status === 429) {
        message = 'Too many requests. Please wait a moment and try again.';
      } else if (xhr.status >= 500) {
        message = 'Something went wrong on our side. Please try again.';
      } else {
        message = fallback + ' (HTTP ' + xhr.status + ').';
      }
    }
    var requestId = xhr.getResponseHeader('X-Request-ID');
    if (requestId) {
      message += ' Request ID: ' + requestId;
    }
    return message;
  }

  doc.addEventListener('htmx:responseError', function (evt) {
    showToast(messageFromResponse(evt.detail && evt.detail.xhr), 'error');
  });
  doc.addEventListener('htmx:sendError', function () {
    showToast('Could not reach the server. Check your connection and try again.', 'error');
  });
  doc.addEventListener('htmx:timeout', function () {
    showToast('The server took too long to answer. Please try again.', 'error');
  });

  /* details/summary menus: close on outside click and on Escape; one open at a time. */
  function openMenus() {
    return doc.querySelectorAll('details.menu[open]');
  }
  doc.addEventListener('click', function (evt) {
    var menus = openMenus();
    for (var i = 0; i < menus.length; i++) {
      if (!menus[i].contains(evt.target)) {
        menus[i].removeAttribute('open');
      }
    }
  });
  doc.addEventListener('keydown', function (evt) {
    if (evt.key !== 'Escape') {
      return;
    }
    var menus = openMenus();
    for (var i = 0; i < menus.length; i++) {
      menus[i].removeAttribute('open');
      var summary = menus[i].querySelector('summary');
      if (summary && menus[i].contains(doc.activeElement)) {
        summary.focus();
      }
    }
  });

  /* Plain (non-htmx) forms: data-confirm asks first; a form cannot be submitted twice. */
  doc.addEventListener('submit', function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute('hx-post') || form.hasAttribute('hx-put') ||
        form.hasAttribute('hx-patch') || form.hasAttribute('hx-delete')) {
      return;
    }
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      evt.preventDefault();
      return;
    }
    if (form.classList.contains('is-submitting')) {
      evt.preventDefault();
      return;
    }
    form.classList.add('is-submitting');
    /* A form answered by a download leaves the page in place: unlock it after a while. */
    window.setTimeout(function () { form.classList.remove('is-submitting'); }, 5000);
  });
  /* Coming back through the back/forward cache must not leave forms locked. */
  window.addEventListener('pageshow', function () {
    var forms = doc.querySelectorAll('form.is-submitting');
    for (var i = 0; i < forms.length; i++) {
      forms[i].classList.remove('is-submitting');
    }
  });

  /* Timestamps: <time datetime="2025-03-11T10:22:33Z" data-local-time> shows the reader's local date and
     time; the server's UTC text stays as the tooltip. Without JavaScript the UTC text is shown. */
  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  } catch (ignored) {
    timeFormat = null;
  }
  function localizeTimes(root) {
    if (!timeFormat || !root || !root.querySelectorAll) {
      return;
    }
    var items = root.querySelectorAll('time[data-local-time]:not([data-localized])');
    for (var i = 0; i < items.length; i++) {
      var raw = items[i].getAttribute('datetime') || '';
      var date = new Date(raw.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
      if (isNaN(date.getTime())) {
        continue;
      }
      items[i].title = raw;
      items[i].textContent = timeFormat.format(date);
      items[i].setAttribute('data-localized', '');
    }
  }

  /* Copy buttons: <button data-copy="ID" hidden> copies the text of element ID (one-time secrets). They
     stay hidden where the clipboard API is unavailable (plain HTTP); the text is selectable anyway. */
  function revealCopyButtons(root) {
    if (!navigator.clipboard || !window.isSecureContext || !root || !root.querySelectorAll) {
      return;
    }
    var buttons = root.querySelectorAll('button[data-copy]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
    }
  }
  doc.addEventListener('click', function (evt) {
    var button = evt.target && evt.target.closest ? evt.target.closest('button[data-copy]') : null;
    var source = button ? doc.getElementById(button.getAttribute('data-copy')) : null;
    if (!source) {
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      if (!button.hasAttribute('data-label')) {
        button.setAttribute('data-label', button.textContent);
      }
      button.textContent = 'Copied';
      window.setTimeout(function () { button.textContent = button.getAttribute('data-label'); }, 2000);
    }, function () {
      showToast('Could not copy. Select the text and copy it by hand.', 'warn');
    });
  });

  function enhance(root) {
    localizeTimes(root);
    revealCopyButtons(root);
  }
  enhance(doc);
  /* Content swapped in by htmx (e.g. a table row after an inline action). */
  doc.addEventListener('htmx:load', function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.parentNode) {
      enhance(elt.parentNode);
    }
  });

  doc.documentElement.setAttribute('data-app-js', 'ready');
  window.AfterResume = { showToast: showToast };
}());
