// features.js — small behaviours of the feature pages (no inline script: the CSP forbids it), one section per
// area in this order; each section only acts on pages that contain its elements. Shared behaviour is in app.js.
'use strict';

// == worklog ==
// Worklog (templates/partials/header.mustache, worklog_quick_add, worklog_filters): the quick-add dialog opens
// once htmx has loaded its form (links marked data-quick-add; without JavaScript they lead to /worklog/new),
// closes after a successful save (the timeline refreshes itself on the "worklog-changed" event the server
// sends) and on its close button or Escape; tag inputs suggest completions after the last comma; the filter
// panel starts folded on narrow screens unless a filter is active.
(function () {
  var doc = document;
  function dialog() {
    return doc.getElementById('quick-add-dialog');
  }
  function focusFirst(container) {
    var el = container.querySelector('[aria-invalid="true"]') || container.querySelector('[data-autofocus]') ||
      container.querySelector('textarea, input:not([type="hidden"])');
    if (el) {
      el.focus();
    }
  }
  doc.addEventListener('htmx:afterSwap', function (evt) {
    var target = evt.detail && evt.detail.target;
    var dlg = dialog();
    if (!target || !dlg) {
      return;
    }
    if (target.id === 'quick-add-body') {
      if (!dlg.open && typeof dlg.showModal === 'function') {
        dlg.showModal();
      }
      focusFirst(target);
    } else if (target.id === 'quick-add-form' || (target.closest && target.closest('#quick-add-body'))) {
      focusFirst(dlg);
    }
  });
  // A saved entry: the server's HX-Trigger "worklog-changed" fires on the form before the swap (the swapped-out
  // form no longer bubbles events), so the dialog closes here; the flash arrives out of band and gets focus.
  doc.addEventListener('worklog-changed', function () {
    var dlg = dialog();
    if (dlg && dlg.open) {
      dlg.close();
    }
  });
  doc.addEventListener('htmx:oobAfterSwap', function (evt) {
    var target = evt.detail && evt.detail.target;
    var flash = target && target.querySelector ? target.querySelector('[data-worklog-created]') : null;
    if (flash) {
      flash.setAttribute('tabindex', '-1');
      flash.focus();
    }
  });
  doc.addEventListener('click', function (evt) {
    var close = evt.target.closest ? evt.target.closest('[data-quick-add-close]') : null;
    var dlg = dialog();
    if (close && dlg) {
      dlg.close();
    } else if (dlg && evt.target === dlg) {
      dlg.close(); // a click on the backdrop
    }
  });

  // Tag inputs: the datalist offers "<typed tags>, <suggestion>" for the word after the last comma.
  doc.addEventListener('input', function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches('[data-tag-input]')) {
      return;
    }
    var list = input.list;
    if (!list) {
      return;
    }
    if (!list.dataset.tags) {
      var names = [];
      for (var i = 0; i < list.options.length; i++) {
        names.push(list.options[i].value);
      }
      list.dataset.tags = JSON.stringify(names);
    }
    var all = JSON.parse(list.dataset.tags);
    var value = input.value;
    var cut = value.lastIndexOf(',');
    var head = cut >= 0 ? value.slice(0, cut + 1) + ' ' : '';
    var typed = head ? head.split(',').map(function (t) { return t.trim().toLowerCase(); }) : [];
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    all.forEach(function (name) {
      if (typed.indexOf(name) !== -1) {
        return;
      }
      var option = doc.createElement('option');
      option.value = head + name;
      list.appendChild(option);
    });
  });

  function foldFilters() {
    var panel = doc.querySelector('[data-filter-panel]');
    if (!panel || !window.matchMedia('(max-width: 899px)').matches) {
      return;
    }
    var active = panel.querySelector('.badge');
    if (!active) {
      panel.removeAttribute('open');
    }
  }
  if (doc.readyState === 'loading') {
    doc.addEventListener('DOMContentLoaded', foldFilters);
  } else {
    foldFilters();
  }
}());

// == evidence ==
// Attachments on an entry (templates/partials/attachments.mustache): drop files on the drop zone or pick them,
// each file uploads on its own XMLHttpRequest (multipart field "file", optional "description") with a progress
// bar, the X-CSRF-Token header from the page's meta, then htmx re-fetches the section (event evidence-refresh).
(function () {
  var doc = document;
  function csrf() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }
  function refresh(section) {
    if (window.htmx && section && section.isConnected) {
      window.htmx.trigger(section, 'evidence-refresh');
    }
  }
  function errorText(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (e) { /* not JSON */ }
    return xhr.status ? 'Upload failed (HTTP ' + xhr.status + ').' : 'Upload failed: the connection was lost.';
  }
  function uploadOne(section, file, description, done) {
    var list = section.querySelector('[data-evidence-progress]');
    var row = doc.createElement('li');
    row.className = 'evidence-progress__item';
    var name = doc.createElement('span');
    name.className = 'evidence-progress__name';
    name.textContent = file.name;
    var bar = doc.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', 'Uploading ' + file.name);
    var status = doc.createElement('span');
    status.className = 'evidence-progress__status';
    status.textContent = 'Uploading…';
    row.appendChild(name);
    row.appendChild(bar);
    row.appendChild(status);
    if (list) {
      list.appendChild(row);
    }
    var isImage = /\.(png|jpe?g|gif|webp)$/i.test(file.name);
    var max = Number(section.getAttribute(isImage ? 'data-image-max' : 'data-document-max')) || 0;
    if (max && file.size > max) {
      row.classList.add('is-error');
      status.textContent = file.name + ' is larger than the ' + Math.round(max / 1048576) + ' MiB limit.';
      done(false);
      return;
    }
    var form = new FormData();
    if (description) {
      form.append('description', description);
    }
    form.append('file', file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', section.getAttribute('data-evidence-upload'));
    xhr.setRequestHeader('X-CSRF-Token', csrf());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', function (evt) {
      if (evt.lengthComputable) {
        bar.value = Math.round(evt.loaded * 100 / evt.total);
      }
    });
    xhr.addEventListener('load', function () {
      if (xhr.status === 201) {
        bar.value = 100;
        row.classList.add('is-done');
        status.textContent = 'Uploaded';
        done(true);
      } else {
        row.classList.add('is-error');
        status.textContent = errorText(xhr);
        done(false);
      }
    });
    xhr.addEventListener('error', function () {
      row.classList.add('is-error');
      status.textContent = errorText(xhr);
      done(false);
    });
    xhr.send(form);
  }
  function uploadAll(section, files) {
    var pending = files.length;
    if (!pending) {
      return;
    }
    var descriptionInput = section.querySelector('[data-evidence-description]');
    var description = descriptionInput ? descriptionInput.value : '';
    var anyOk = false;
    Array.prototype.forEach.call(files, function (file) {
      uploadOne(section, file, description, function (ok) {
        anyOk = anyOk || ok;
        pending -= 1;
        if (pending === 0 && anyOk) {
          // keep failed rows visible: refresh the list only, after a moment so the user sees the bars finish
          window.setTimeout(function () { refresh(section); }, 800);
        }
      });
    });
  }
  doc.addEventListener('change', function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches('[data-evidence-input]')) {
      return;
    }
    var section = input.closest('[data-evidence-upload]');
    if (section) {
      uploadAll(section, Array.prototype.slice.call(input.files || []));
      input.value = '';
    }
  });
  ['dragenter', 'dragover'].forEach(function (type) {
    doc.addEventListener(type, function (evt) {
      var zone = evt.target.closest ? evt.target.closest('[data-evidence-drop]') : null;
      if (zone) {
        evt.preventDefault();
        zone.classList.add('is-over');
      }
    });
  });
  doc.addEventListener('dragleave', function (evt) {
    var zone = evt.target.closest ? evt.target.closest('[data-evidence-drop]') : null;
    if (zone && !zone.contains(evt.relatedTarget)) {
      zone.classList.remove('is-over');
    }
  });
  doc.addEventListener('drop', function (evt) {
    var zone = evt.target.closest ? evt.target.closest('[data-evidence-drop]') : null;
    if (!zone) {
      return;
    }
    evt.preventDefault();
    zone.classList.remove('is-over');
    var section = zone.closest('[data-evidence-upload]');
    if (section && evt.dataTransfer) {
      uploadAll(section, Array.prototype.slice.call(evt.dataTransfer.files || []));
    }
  });
  // Keyboard users: Enter or Space on the drop zone opens the file picker.
  doc.addEventListener('keydown', function (evt) {
    var zone = evt.target.matches && evt.target.matches('[data-evidence-drop]') ? evt.target : null;
    if (zone && (evt.key === 'Enter' || evt.key === ' ')) {
      evt.preventDefault();
      var input = zone.querySelector('[data-evidence-input]');
      if (input) {
        input.click();
      }
    }
  });
  // After a delete (hx-delete, 204) re-fetch the section.
  doc.addEventListener('htmx:afterRequest', function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute('data-evidence-deleted') && evt.detail.successful) {
      refresh(doc.getElementById(elt.getAttribute('data-evidence-deleted')));
    }
  });
})();

// == import / export ==

// == jobs ==

// == billing ==

// == career material ==
// "Print / PDF" buttons on report pages (the print stylesheet hides navigation and actions).
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('[data-print]');
  if (button) window.print();
});
// A freshly created share link: select it so it can be copied at once.
(() => {
  const url = document.getElementById('new-share-url');
  if (url) url.addEventListener('focus', () => url.select());
})();
