// Read an iCalendar file on stdin with ical.js (the parser inside Thunderbird)
// and print what it understood as JSON, for tests/test_calendar_parsers.py.
//
// Nothing is registered with ICAL.TimezoneService on purpose: a TZID then
// resolves only through a VTIMEZONE of the file itself (ical.js looks them up
// in the component tree). A TZID the file does not define stays floating,
// which is reported as "zone": "floating" so that the test fails instead of
// silently reading the wall clock in the machine's zone.
import { readFileSync } from "node:fs";

import ICAL from "ical.js";

function utc(time) {
  if (!time) {
    return null;
  }
  const inUtc = time.convertToZone(ICAL.Timezone.utcTimezone);
  return inUtc.toString().replace(/Z?$/, "Z");
}

function zoneOf(time) {
  if (!time) {
    return null;
  }
  if (time.zone === ICAL.Timezone.localTimezone) {
    return "floating";
  }
  return time.zone.tzid;
}

function person(prop) {
  if (!prop) {
    return null;
  }
  const params = {};
  for (const name of ["cn", "partstat", "role", "rsvp"]) {
    const value = prop.getParameter(name);
    if (value !== undefined && value !== null) {
      params[name] = value;
    }
  }
  return { value: prop.getFirstValue(), ...params };
}

const text = readFileSync(0, "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
const result = {
  method: calendar.getFirstPropertyValue("method"),
  prodid: calendar.getFirstPropertyValue("prodid"),
  version: calendar.getFirstPropertyValue("version"),
  name: calendar.getFirstPropertyValue("name"),
  x_wr_calname: calendar.getFirstPropertyValue("x-wr-calname"),
  timezones: calendar.getAllSubcomponents("vtimezone").map(
    (zone) => zone.getFirstPropertyValue("tzid")),
  events: calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      summary: event.summary,
      description: event.description,
      location: event.location,
      url: component.getFirstPropertyValue("url"),
      status: component.getFirstPropertyValue("status"),
      sequence: event.sequence,
      start: utc(event.startDate),
      end: utc(event.endDate),
      start_zone: zoneOf(event.startDate),
      end_zone: zoneOf(event.endDate),
      organizer: person(component.getFirstProperty("organizer")),
      attendees: component.getAllProperties("attendee").map(person),
    };
  }),
};
process.stdout.write(JSON.stringify(result));
